"""Server-sent events of a streaming completion, in the OpenAI chunk format."""

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool

from alignd.inference.service import ServedModel
from alignd.logging import get_logger
from alignd.serving.engine import Completion, GenerationStream, StreamDelta
from alignd.serving.errors import ModelNotLoaded

log = get_logger(__name__)

DONE_EVENT = "data: [DONE]\n\n"


def sse_event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"


def error_event(message: str, code: str) -> str:
    """Build an event in the OpenAI error shape, which the openai client raises as APIError."""
    return sse_event({"error": {"message": message, "type": code, "code": code}})


@dataclass
class ChunkFormat:
    """Builds the chunks of one streaming response."""

    completion_id: str
    created: int
    served: ServedModel
    chat: bool

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        kind = "chat.completion.chunk" if self.chat else "text_completion"
        return {"id": self.completion_id, "object": kind, "created": self.created, "model": self.served.name,
                "choices": choices}

    def opening(self, n: int) -> list[dict[str, Any]]:
        """Chat streams start with the assistant role for every choice, as OpenAI's do."""
        if not self.chat:
            return []
        return [
            self._chunk([{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None,
                          "logprobs": None}])
            for index in range(n)
        ]

    def delta(self, delta: StreamDelta) -> dict[str, Any]:
        if self.chat:
            body = {"content": delta.text} if delta.text else {}
            choice = {"index": delta.index, "delta": body, "finish_reason": delta.finish_reason, "logprobs": None}
        else:
            choice = {"index": delta.index, "text": delta.text, "finish_reason": delta.finish_reason,
                      "logprobs": None}
        return self._chunk([choice])

    def closing(self, prompt_tokens: int, completions: list[Completion], confidence: float | None) -> dict[str, Any]:
        """Build the last chunk: no choices, the token counts and, for aligned models, the confidence score."""
        completion_tokens = sum(completion.completion_tokens for completion in completions)
        chunk = self._chunk([])
        chunk["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if confidence is not None:
            chunk["confidence_score"] = confidence
        return chunk


async def stream_events(
    stream: GenerationStream,
    n: int,
    chunks: ChunkFormat,
    score: Callable[[list[Completion]], float | None],
    on_end: Callable[[str], None] | None,
) -> AsyncIterator[str]:
    """Yield the events of ``stream``, then ``[DONE]``; run ``on_end(text of choice 0)`` at the end.

    Each step runs in the threadpool so the event loop stays free. A model unloaded
    mid-stream ends the stream with an error event instead of cutting the connection.
    """
    texts = [""] * n
    completions: list[Completion | None] = [None] * n
    try:
        for opening in chunks.opening(n):
            yield sse_event(opening)
        try:
            while (delta := await run_in_threadpool(_next_delta, stream)) is not None:
                texts[delta.index] += delta.text
                if delta.completion is not None:
                    completions[delta.index] = delta.completion
                yield sse_event(chunks.delta(delta))
            finished = [completion for completion in completions if completion is not None]
            yield sse_event(chunks.closing(stream.prompt_tokens, finished, score(finished)))
        except ModelNotLoaded as exc:
            log.info("inference.stream_model_unloaded", model_id=chunks.served.engine_model)
            yield error_event(exc.detail, exc.code)
        except Exception:  # noqa: BLE001 - the status line is sent already; tell the client in the stream
            log.exception("inference.stream_failed", model_id=chunks.served.engine_model)
            yield error_event("Generation failed on the server.", "internal_error")
        yield DONE_EVENT
    finally:
        stream.close()
        if on_end is not None:
            # Shielded so a client that disconnects still gets its exchange saved.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(on_end, texts[0])


def _next_delta(stream: GenerationStream) -> StreamDelta | None:
    return next(stream, None)
