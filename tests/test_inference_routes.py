"""Inference routes over HTTP: OpenAI-shaped bodies, model resolution, streaming and errors.

Aligned models are deployed by inserting a DEPLOYED project row and loading its adapter
into the running engine, which is what the deploy route does once it succeeds.
"""

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import ClientDisconnect
from serving_support import TINY, build_test_adapters, insert_project, project_row, user_id

from alignd.alignments.models import ModelStatus
from alignd.app import create_app
from alignd.auth.service import create_key
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.inference.repository import InferenceRepository, delete_conversations_for_project
from alignd.inference.service import model_not_found

PREFIXES = ["/api/v3/inference", "/v1"]
MESSAGES = [{"role": "user", "content": "When do working hours start?"}]
ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture(scope="session")
def adapters(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_test_adapters(model_cache_dir, tmp_path_factory.mktemp("adapter-home"))


@pytest.fixture
def deploy(client: TestClient, settings: Settings, adapters: dict[str, Path]) -> Callable[..., tuple[str, str]]:
    """Deploy an aligned model for a user; return (project id, model id)."""

    def _deploy(email: str = ALICE, adapter: str = "first", **row: Any) -> tuple[str, str]:
        project_id, model_id = insert_project(settings, user_id(settings, email), **row)
        client.app.state.runtime.engine.load_adapter(model_id, TINY, adapters[adapter])
        return project_id, model_id

    return _deploy


def chat(client: TestClient, auth: dict[str, str], prefix: str = "/v1", **body: Any) -> Any:
    payload = {"model": TINY, "messages": MESSAGES, "max_tokens": 16, "temperature": 0, **body}
    return client.post(f"{prefix}/chat/completions", headers=auth, json=payload)


def parse_events(raw: str) -> list[Any]:
    """Split a server-sent event body into its data payloads; ``[DONE]`` stays a string."""
    events = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


# Listing models


def test_list_models_shows_base_models(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/v1/models", headers=auth)
    assert response.status_code == 200
    assert response.json()["object"] == "list"
    assert TINY in [model["id"] for model in response.json()["data"]]


def test_list_models_shows_own_deployed_model(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy()
    ids = [model["id"] for model in client.get("/v1/models", headers=auth).json()["data"]]
    assert model_id in ids


def test_list_models_hides_other_users_models(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], deploy  # type: ignore[no-untyped-def]
) -> None:
    _, model_id = deploy(email=BOB)
    ids = [model["id"] for model in client.get("/v1/models", headers=auth).json()["data"]]
    assert model_id not in ids


def test_list_models_hides_undeployed_model(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    _, model_id = insert_project(settings, user_id(settings, ALICE), model_status=ModelStatus.UNDEPLOYED)
    ids = [model["id"] for model in client.get("/v1/models", headers=auth).json()["data"]]
    assert model_id not in ids


def test_list_models_needs_key(client: TestClient) -> None:
    assert client.get("/v1/models").status_code == 401


# Chat and text completions


@pytest.mark.parametrize("prefix", PREFIXES)
def test_chat_completion_has_openai_shape(client: TestClient, auth: dict[str, str], prefix: str) -> None:
    response = chat(client, auth, prefix)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl_")
    assert body["model"] == TINY
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]


def test_base_model_answer_has_no_confidence(client: TestClient, auth: dict[str, str]) -> None:
    assert "confidence_score" not in chat(client, auth).json()


def test_aligned_model_answer_has_confidence(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy()
    score = chat(client, auth, model=model_id).json()["confidence_score"]
    assert 0.0 < score <= 1.0


def test_aligned_model_answer_echoes_model_id(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy()
    assert chat(client, auth, model=model_id).json()["model"] == model_id


@pytest.mark.parametrize("prefix", PREFIXES)
def test_text_completion_has_openai_shape(client: TestClient, auth: dict[str, str], prefix: str) -> None:
    response = client.post(
        f"{prefix}/completions",
        headers=auth,
        json={"model": TINY, "prompt": "Regular working hours", "max_tokens": 8, "temperature": 0},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "text_completion"
    assert isinstance(body["choices"][0]["text"], str)
    assert body["usage"]["completion_tokens"] >= 1


def test_text_completion_accepts_one_prompt_list(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/completions", headers=auth, json={"model": TINY, "prompt": ["Regular working hours"], "max_tokens": 4}
    )
    assert response.status_code == 200, response.text


def test_two_adapters_answer_differently_over_http(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, first = deploy(adapter="first", name="First")
    _, second = deploy(adapter="second", name="Second")
    first_text = chat(client, auth, model=first, max_tokens=24).json()["choices"][0]["message"]["content"]
    second_text = chat(client, auth, model=second, max_tokens=24).json()["choices"][0]["message"]["content"]
    assert client.app.state.runtime.engine.loaded_bases() == {TINY: sorted([first, second])}
    assert first_text != second_text


def test_n_returns_that_many_choices(client: TestClient, auth: dict[str, str]) -> None:
    body = chat(client, auth, n=3, temperature=1.0, seed=5).json()
    assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]


def test_seed_repeats_sampled_answer(client: TestClient, auth: dict[str, str]) -> None:
    first = chat(client, auth, temperature=1.0, seed=11).json()["choices"][0]["message"]["content"]
    second = chat(client, auth, temperature=1.0, seed=11).json()["choices"][0]["message"]["content"]
    assert first == second


def test_model_alias_is_accepted(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    from alignd.catalog.service import list_base_models

    aliased = [info for info in list_base_models(settings) if info.aliases and info.supports_alignment]
    if not aliased:
        pytest.skip("no base model with an alias can be loaded here")
    response = client.get("/v1/models", headers=auth)
    assert aliased[0].id in [model["id"] for model in response.json()["data"]]


# Usage counting and conversations


def test_aligned_request_counts_usage(client: TestClient, auth: dict[str, str], settings: Settings, deploy) -> None:  # type: ignore[no-untyped-def]
    project_id, model_id = deploy()
    chat(client, auth, model=model_id)
    chat(client, auth, model=model_id, stream=True)
    project = project_row(settings, project_id)
    assert project.usage_count == 2
    assert project.last_used is not None


def test_conversation_saved_under_session_id(client: TestClient, auth: dict[str, str], settings: Settings, deploy) -> None:  # type: ignore[no-untyped-def]
    project_id, model_id = deploy(conversation_saving=True)
    response = client.post(
        "/v1/chat/completions",
        headers={**auth, "X-Session-ID": "conversation-1"},
        json={"model": model_id, "messages": MESSAGES, "max_tokens": 8, "temperature": 0},
    )
    reply = response.json()["choices"][0]["message"]["content"]
    with session_scope(settings) as session:
        saved = [(m.role, m.content) for m in InferenceRepository(session).list_messages(project_id, "conversation-1")]
    assert response.headers["X-Session-ID"] == "conversation-1"
    assert saved == [("user", MESSAGES[0]["content"]), ("assistant", reply)]


def test_conversation_without_header_gets_new_session_id(
    client: TestClient, auth: dict[str, str], settings: Settings, deploy  # type: ignore[no-untyped-def]
) -> None:
    project_id, model_id = deploy(conversation_saving=True)
    session_id = chat(client, auth, model=model_id).headers["X-Session-ID"]
    with session_scope(settings) as session:
        saved = InferenceRepository(session).list_messages(project_id, session_id)
    assert len(saved) == 2


def test_streamed_conversation_saved(client: TestClient, auth: dict[str, str], settings: Settings, deploy) -> None:  # type: ignore[no-untyped-def]
    project_id, model_id = deploy(conversation_saving=True)
    response = client.post(
        "/v1/chat/completions",
        headers={**auth, "X-Session-ID": "streamed"},
        json={"model": model_id, "messages": MESSAGES, "max_tokens": 8, "temperature": 0, "stream": True},
    )
    streamed = "".join(
        event["choices"][0]["delta"].get("content", "")
        for event in parse_events(response.text)
        if isinstance(event, dict) and event["choices"]
    )
    with session_scope(settings) as session:
        saved = [(m.role, m.content) for m in InferenceRepository(session).list_messages(project_id, "streamed")]
    assert saved == [("user", MESSAGES[0]["content"]), ("assistant", streamed)]


def test_conversation_not_saved_when_disabled(client: TestClient, auth: dict[str, str], settings: Settings, deploy) -> None:  # type: ignore[no-untyped-def]
    project_id, model_id = deploy(conversation_saving=False)
    response = client.post(
        "/v1/chat/completions",
        headers={**auth, "X-Session-ID": "conversation-1"},
        json={"model": model_id, "messages": MESSAGES, "max_tokens": 8},
    )
    with session_scope(settings) as session:
        saved = InferenceRepository(session).list_messages(project_id)
    assert "X-Session-ID" not in response.headers
    assert saved == []


def test_delete_conversations_for_project_removes_messages(
    client: TestClient, auth: dict[str, str], settings: Settings, deploy  # type: ignore[no-untyped-def]
) -> None:
    project_id, model_id = deploy(conversation_saving=True)
    chat(client, auth, model=model_id)
    with session_scope(settings) as session:
        removed = delete_conversations_for_project(session, project_id)
    with session_scope(settings) as session:
        left = InferenceRepository(session).list_messages(project_id)
    assert removed == 2
    assert left == []


# Streaming


@pytest.mark.parametrize("prefix", PREFIXES)
def test_chat_stream_ends_with_usage_then_done(client: TestClient, auth: dict[str, str], prefix: str) -> None:
    response = chat(client, auth, prefix, stream=True)
    events = parse_events(response.text)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == "[DONE]"
    assert events[-2]["choices"] == []
    assert events[-2]["usage"]["completion_tokens"] >= 1


def test_chat_stream_matches_plain_answer(client: TestClient, auth: dict[str, str]) -> None:
    plain = chat(client, auth).json()["choices"][0]["message"]["content"]
    events = parse_events(chat(client, auth, stream=True).text)
    streamed = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1] if e["choices"])
    assert streamed == plain


def test_chat_stream_starts_with_assistant_role(client: TestClient, auth: dict[str, str]) -> None:
    events = parse_events(chat(client, auth, stream=True).text)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"


def test_aligned_stream_has_confidence_in_last_chunk(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy()
    events = parse_events(chat(client, auth, model=model_id, stream=True).text)
    assert 0.0 < events[-2]["confidence_score"] <= 1.0


def test_text_stream_ends_with_done(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/completions",
        headers=auth,
        json={"model": TINY, "prompt": "Regular working hours", "max_tokens": 8, "stream": True},
    )
    events = parse_events(response.text)
    assert events[0]["object"] == "text_completion"
    assert events[-1] == "[DONE]"


def run_asgi_stream(app: FastAPI, path: str, headers: dict[str, str], body: dict[str, Any],
                    on_chunk: Callable[[int], None]) -> str:
    """POST to the app through ASGI and call ``on_chunk(count)`` while each body chunk is being sent.

    Generation waits while ``send`` runs, so ``on_chunk`` acts at a known point of the stream.
    Over a socket, the server could finish generating before the test reacts.
    """

    async def run() -> str:
        chunks: list[bytes] = []
        request_sent = False

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                chunks.append(message["body"])
                await asyncio.to_thread(on_chunk, len(chunks))

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()]
            + [(b"content-type", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        await app(scope, receive, send)
        return b"".join(chunks).decode()

    return asyncio.run(run())


def test_unload_during_stream_sends_error_then_done(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy()
    engine = client.app.state.runtime.engine

    def unload_after_first_tokens(count: int) -> None:
        # Chunk 1 is the assistant role, chunks 2 and 3 carry generated text.
        if count == 3:
            engine.unload_adapter(model_id)

    raw = run_asgi_stream(
        client.app,
        "/v1/chat/completions",
        auth,
        {"model": model_id, "messages": MESSAGES, "max_tokens": 200, "temperature": 0, "stream": True},
        unload_after_first_tokens,
    )
    events = parse_events(raw)
    errors = [event for event in events if isinstance(event, dict) and "error" in event]
    assert engine.is_loaded(model_id) is False
    assert len(errors) == 1
    assert errors[0]["error"]["code"] == "model_not_loaded"
    assert events[-1] == "[DONE]"
    assert not any(isinstance(event, dict) and "usage" in event for event in events)


# Errors


@pytest.mark.parametrize("prefix", PREFIXES)
def test_unknown_model_is_404(client: TestClient, auth: dict[str, str], prefix: str) -> None:
    response = chat(client, auth, prefix, model="model_nothing_here")
    assert response.status_code == 404
    assert response.json() == model_not_found("model_nothing_here").to_body()


def test_undeployed_model_is_404(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    _, model_id = insert_project(settings, user_id(settings, ALICE), model_status=ModelStatus.UNDEPLOYED)
    response = chat(client, auth, model=model_id)
    assert response.status_code == 404
    assert response.json() == model_not_found(model_id).to_body()


def test_other_users_model_is_404(client: TestClient, auth: dict[str, str], other_auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy(email=BOB)
    response = chat(client, auth, model=model_id)
    assert response.status_code == 404
    assert response.json() == model_not_found(model_id).to_body()


def test_deleting_model_is_404(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy(deleting=True)
    response = chat(client, auth, model=model_id)
    assert response.status_code == 404
    assert response.json() == model_not_found(model_id).to_body()


def test_deployed_but_not_loaded_model_is_404(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    _, model_id = insert_project(settings, user_id(settings, ALICE))
    response = chat(client, auth, model=model_id)
    assert response.status_code == 404
    assert response.json() == model_not_found(model_id).to_body()


def test_unloaded_model_is_404(client: TestClient, auth: dict[str, str], deploy) -> None:  # type: ignore[no-untyped-def]
    _, model_id = deploy()
    client.app.state.runtime.engine.unload_adapter(model_id)
    assert chat(client, auth, model=model_id).status_code == 404


def test_missing_key_is_401(client: TestClient) -> None:
    response = client.post("/v1/chat/completions", json={"model": TINY, "messages": MESSAGES})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("top_p", 0),
        ("top_k", 0),
        ("n", 0),
        ("n", 17),
        ("max_tokens", 0),
        ("stop", ["a", "b", "c", "d", "e"]),
        ("stop", ""),
        ("seed", -1),
        ("messages", []),
        ("model", ""),
    ],
)
def test_invalid_field_is_422_naming_it(client: TestClient, auth: dict[str, str], field: str, value: Any) -> None:
    response = chat(client, auth, **{field: value})
    assert response.status_code == 422
    assert field in [str(part) for error in response.json()["detail"] for part in error["loc"]]


def test_unknown_role_is_422(client: TestClient, auth: dict[str, str]) -> None:
    response = chat(client, auth, messages=[{"role": "robot", "content": "hi"}])
    assert response.status_code == 422


def test_two_prompts_are_422(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/v1/completions", headers=auth, json={"model": TINY, "prompt": ["a", "b"]})
    assert response.status_code == 422
    assert "prompt" in response.json()["detail"][0]["loc"]


def test_max_tokens_over_cap_is_400(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    response = chat(client, auth, max_tokens=settings.max_tokens_cap + 1)
    assert response.status_code == 400
    assert response.json()["code"] == "max_tokens_too_large"
    assert str(settings.max_tokens_cap + 1) in response.json()["detail"]
    assert str(settings.max_tokens_cap) in response.json()["detail"]


def test_prompt_over_context_is_400(client: TestClient, auth: dict[str, str]) -> None:
    response = chat(client, auth, messages=[{"role": "user", "content": "working hours " * 2000}])
    assert response.status_code == 400
    assert response.json()["code"] == "context_length_exceeded"
    assert "1024" in response.json()["detail"]


def test_stream_error_before_start_is_plain_http_error(client: TestClient, auth: dict[str, str]) -> None:
    response = chat(client, auth, stream=True, messages=[{"role": "user", "content": "working hours " * 2000}])
    assert response.status_code == 400
    assert response.json()["code"] == "context_length_exceeded"


@pytest.fixture
def limited(settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app that takes one inference request at a time, with a key for it."""
    with TestClient(create_app(settings.model_copy(update={"max_queued_requests": 1}))) as limited_client:
        with session_scope(settings) as session:
            key = create_key(session, "carol@example.com").raw_key
        yield limited_client, {"Authorization": f"Bearer {key}"}


def test_full_queue_is_503_with_retry_after(limited: tuple[TestClient, dict[str, str]]) -> None:
    limited_client, carol = limited
    engine = limited_client.app.state.runtime.engine
    open_stream = engine.stream_text(TINY, "Regular working hours", engine_params())
    try:
        response = chat(limited_client, carol)
    finally:
        open_stream.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "overloaded"


def test_queue_place_frees_after_request(limited: tuple[TestClient, dict[str, str]]) -> None:
    limited_client, carol = limited
    chat(limited_client, carol, stream=True)
    assert chat(limited_client, carol).status_code == 200


def test_client_disconnect_frees_queue_place(limited: tuple[TestClient, dict[str, str]]) -> None:
    limited_client, carol = limited

    def disconnect_after_first_tokens(count: int) -> None:
        if count == 3:
            raise OSError("client closed the connection")

    with pytest.raises(ClientDisconnect):
        run_asgi_stream(
            limited_client.app,
            "/v1/chat/completions",
            carol,
            {"model": TINY, "messages": MESSAGES, "max_tokens": 200, "temperature": 0, "stream": True},
            disconnect_after_first_tokens,
        )
    assert chat(limited_client, carol).status_code == 200


def engine_params():  # type: ignore[no-untyped-def]
    from alignd.serving.engine import GenerationParams

    return GenerationParams(max_tokens=8, temperature=0.0)
