"""HTTP routes of inference, at /api/v3/inference and OpenAI-compatible at /v1.

The routes are plain functions, so FastAPI runs them and the generation inside them in its
threadpool. Streaming responses step the engine in the threadpool too.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import IntegrityError

from alignd.auth.dependencies import CurrentUser
from alignd.db.dependencies import DbSession
from alignd.db.engine import session_scope
from alignd.ids import new_id
from alignd.inference import service
from alignd.inference.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    ChatCompletionRequest,
    CompletionRequest,
    ModelCard,
    ModelList,
    TextChoice,
    TextCompletion,
    Usage,
)
from alignd.inference.service import ServedModel
from alignd.inference.streaming import ChunkFormat, stream_events
from alignd.logging import get_logger
from alignd.runtime import Runtime, get_runtime
from alignd.serving.engine import GenerationResult, GenerationStream
from alignd.serving.errors import ModelNotLoaded

log = get_logger(__name__)

router = APIRouter()
openai_router = APIRouter()

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionIdHeader = Annotated[
    str | None,
    Header(alias="X-Session-ID", min_length=1, max_length=200, description="Groups the requests of one conversation."),
]
SESSION_HEADER = "X-Session-ID"
ERROR_RESPONSES = {
    400: {"description": "Invalid parameters, a prompt over the context length, or max_tokens over the cap."},
    404: {"description": "The model does not exist, is not deployed, or belongs to another user."},
    503: {"description": "The request queue is full. Retry after the seconds in the Retry-After header."},
}


@router.post(
    "/chat/completions", response_model=ChatCompletion, response_model_exclude_none=True, responses=ERROR_RESPONSES
)
@openai_router.post(
    "/chat/completions", response_model=ChatCompletion, response_model_exclude_none=True, responses=ERROR_RESPONSES
)
def create_chat_completion(
    body: ChatCompletionRequest,
    user: CurrentUser,
    session: DbSession,
    runtime: RuntimeDep,
    response: Response,
    session_id: SessionIdHeader = None,
) -> ChatCompletion | StreamingResponse:
    served = service.resolve_model(session, runtime.settings, runtime.engine, user, body.model)
    params = body.generation_params(runtime.settings.max_tokens_cap)
    messages = [message.as_template_message() for message in body.messages]
    request_turn = (messages[-1]["role"], messages[-1]["content"])
    conversation_id = _conversation_id(served, session_id)
    completion_id = new_id("chatcmpl")

    if body.stream:
        stream = _open_stream(served, lambda: runtime.engine.stream_chat(served.engine_model, messages, params))
        service.record_use(session, served)
        chunks = ChunkFormat(completion_id, service.unix_time(), served, chat=True)
        return _streaming_response(runtime, stream, params.n, chunks, served, conversation_id, request_turn)

    result = _generate(served, lambda: runtime.engine.generate_chat(served.engine_model, messages, params))
    service.record_use(session, served)
    if conversation_id is not None:
        service.save_exchange(session, served, conversation_id, request_turn, result.completions[0].text)
        response.headers[SESSION_HEADER] = conversation_id
    return ChatCompletion(
        id=completion_id,
        created=service.unix_time(),
        model=served.name,
        choices=[
            ChatChoice(index=index, message=AssistantMessage(content=completion.text),
                       finish_reason=completion.finish_reason)
            for index, completion in enumerate(result.completions)
        ],
        usage=_usage(result),
        confidence_score=service.confidence_score(served, result.completions),
    )


@router.post("/completions", response_model=TextCompletion, response_model_exclude_none=True, responses=ERROR_RESPONSES)
@openai_router.post(
    "/completions", response_model=TextCompletion, response_model_exclude_none=True, responses=ERROR_RESPONSES
)
def create_completion(
    body: CompletionRequest,
    user: CurrentUser,
    session: DbSession,
    runtime: RuntimeDep,
    response: Response,
    session_id: SessionIdHeader = None,
) -> TextCompletion | StreamingResponse:
    served = service.resolve_model(session, runtime.settings, runtime.engine, user, body.model)
    params = body.generation_params(runtime.settings.max_tokens_cap)
    prompt = body.prompt_text
    request_turn = ("user", prompt)
    conversation_id = _conversation_id(served, session_id)
    completion_id = new_id("cmpl")

    if body.stream:
        stream = _open_stream(served, lambda: runtime.engine.stream_text(served.engine_model, prompt, params))
        service.record_use(session, served)
        chunks = ChunkFormat(completion_id, service.unix_time(), served, chat=False)
        return _streaming_response(runtime, stream, params.n, chunks, served, conversation_id, request_turn)

    result = _generate(served, lambda: runtime.engine.generate_text(served.engine_model, prompt, params))
    service.record_use(session, served)
    if conversation_id is not None:
        service.save_exchange(session, served, conversation_id, request_turn, result.completions[0].text)
        response.headers[SESSION_HEADER] = conversation_id
    return TextCompletion(
        id=completion_id,
        created=service.unix_time(),
        model=served.name,
        choices=[
            TextChoice(index=index, text=completion.text, finish_reason=completion.finish_reason)
            for index, completion in enumerate(result.completions)
        ],
        usage=_usage(result),
        confidence_score=service.confidence_score(served, result.completions),
    )


@openai_router.get("/models", response_model=ModelList)
def list_models(user: CurrentUser, session: DbSession, runtime: RuntimeDep) -> ModelList:
    return service.list_models(session, runtime.settings, user)


@openai_router.get("/models/{model_id}", response_model=ModelCard)
def retrieve_model(model_id: str, user: CurrentUser, session: DbSession, runtime: RuntimeDep) -> ModelCard:
    for card in service.list_models(session, runtime.settings, user).data:
        if card.id == model_id:
            return card
    raise service.model_not_found(model_id)


def _conversation_id(served: ServedModel, session_id: str | None) -> str | None:
    """Return the id to save the exchange under, or None when the model does not save conversations."""
    if not served.conversation_saving:
        return None
    return session_id or service.new_session_id()


def _generate(served: ServedModel, call: Callable[[], GenerationResult]) -> GenerationResult:
    try:
        return call()
    except ModelNotLoaded as exc:
        # The model was unloaded between the lookup and the start of generation.
        raise service.model_not_found(served.name) from exc


def _open_stream(served: ServedModel, call: Callable[[], GenerationStream]) -> GenerationStream:
    try:
        return call()
    except ModelNotLoaded as exc:
        raise service.model_not_found(served.name) from exc


def _streaming_response(
    runtime: Runtime,
    stream: GenerationStream,
    n: int,
    chunks: ChunkFormat,
    served: ServedModel,
    conversation_id: str | None,
    request_turn: tuple[str, str],
) -> StreamingResponse:
    on_end = None
    headers = {"Cache-Control": "no-cache"}
    if conversation_id is not None:
        headers[SESSION_HEADER] = conversation_id

        def on_end(reply: str) -> None:
            _save_streamed_exchange(runtime, served, conversation_id, request_turn, reply)

    events = stream_events(stream, n, chunks, lambda done: service.confidence_score(served, done), on_end)
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def _save_streamed_exchange(
    runtime: Runtime, served: ServedModel, conversation_id: str, request_turn: tuple[str, str], reply: str
) -> None:
    """Save a streamed exchange in its own transaction, since the request's has committed already."""
    try:
        with session_scope(runtime.settings) as session:
            service.save_exchange(session, served, conversation_id, request_turn, reply)
    except IntegrityError:
        # The project was deleted while the stream ran.
        log.info("inference.conversation_not_saved", alignment_id=served.project_id, session_id=conversation_id)


def _usage(result: GenerationResult) -> Usage:
    completion_tokens = sum(completion.completion_tokens for completion in result.completions)
    return Usage(
        prompt_tokens=result.prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=result.prompt_tokens + completion_tokens,
    )
