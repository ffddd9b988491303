"""The official openai client against alignd served by uvicorn on 127.0.0.1.

Aligned models are deployed by inserting a DEPLOYED project row and loading its adapter
into the server's engine, which is what the deploy route does once it succeeds.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
import uvicorn
from fastapi import FastAPI
from serving_support import TINY, build_test_adapters, insert_project, user_id

from alignd.app import create_app
from alignd.auth.service import create_key
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.serving.engine import GenerationParams

MESSAGES = [{"role": "user", "content": "When do working hours start?"}]


@dataclass
class RunningServer:
    app: FastAPI
    client: openai.OpenAI
    settings: Settings
    email: str

    def deploy(self, adapter_dir: Path, name: str = "Harbor rules") -> str:
        _, model_id = insert_project(self.settings, user_id(self.settings, self.email), name=name)
        self.app.state.runtime.engine.load_adapter(model_id, TINY, adapter_dir)
        return model_id


@pytest.fixture(scope="session")
def adapters(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_test_adapters(model_cache_dir, tmp_path_factory.mktemp("adapter-home"))


def serve(settings: Settings) -> Iterator[RunningServer]:
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 120 seconds"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]

    email = "dana@example.com"
    with session_scope(settings) as session:
        key = create_key(session, email).raw_key
    # No retries, so a 503 reaches the test as it was sent.
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=120)
    try:
        yield RunningServer(app=app, client=client, settings=settings, email=email)
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=60)


@pytest.fixture
def running(settings: Settings) -> Iterator[RunningServer]:
    yield from serve(settings)


@pytest.fixture
def running_one_at_a_time(settings: Settings) -> Iterator[RunningServer]:
    yield from serve(settings.model_copy(update={"max_queued_requests": 1}))


def test_openai_lists_base_and_deployed_models(running: RunningServer, adapters: dict[str, Path]) -> None:
    model_id = running.deploy(adapters["first"])
    ids = [model.id for model in running.client.models.list()]
    assert TINY in ids
    assert model_id in ids


def test_openai_chat_completion(running: RunningServer) -> None:
    completion = running.client.chat.completions.create(model=TINY, messages=MESSAGES, max_tokens=12, temperature=0)
    assert isinstance(completion.choices[0].message.content, str)
    assert completion.usage is not None
    assert completion.usage.completion_tokens >= 1


def test_openai_chat_on_aligned_model_has_confidence(running: RunningServer, adapters: dict[str, Path]) -> None:
    model_id = running.deploy(adapters["first"])
    completion = running.client.chat.completions.create(
        model=model_id, messages=MESSAGES, max_tokens=12, temperature=0
    )
    assert 0.0 < completion.confidence_score <= 1.0  # type: ignore[attr-defined]


def test_openai_two_adapters_answer_differently(running: RunningServer, adapters: dict[str, Path]) -> None:
    first = running.deploy(adapters["first"], name="First")
    second = running.deploy(adapters["second"], name="Second")
    answers = [
        running.client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=24, temperature=0)
        .choices[0]
        .message.content
        for model in (first, second)
    ]
    assert answers[0] != answers[1]


def test_openai_text_completion(running: RunningServer) -> None:
    completion = running.client.completions.create(
        model=TINY, prompt="Regular working hours", max_tokens=8, temperature=0
    )
    assert isinstance(completion.choices[0].text, str)
    assert completion.choices[0].finish_reason in ("stop", "length")


def test_openai_chat_stream_matches_plain_answer(running: RunningServer, adapters: dict[str, Path]) -> None:
    model_id = running.deploy(adapters["second"])
    plain = running.client.chat.completions.create(model=model_id, messages=MESSAGES, max_tokens=16, temperature=0)
    chunks = list(
        running.client.chat.completions.create(
            model=model_id, messages=MESSAGES, max_tokens=16, temperature=0, stream=True
        )
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert streamed == plain.choices[0].message.content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens  # type: ignore[union-attr]
    assert 0.0 < chunks[-1].confidence_score <= 1.0  # type: ignore[attr-defined]


def test_openai_text_stream(running: RunningServer) -> None:
    chunks = list(
        running.client.completions.create(
            model=TINY, prompt="Regular working hours", max_tokens=8, temperature=0, stream=True
        )
    )
    assert chunks[-1].usage is not None
    assert any(chunk.choices and chunk.choices[0].finish_reason for chunk in chunks)


def test_openai_unknown_model_raises_not_found(running: RunningServer) -> None:
    with pytest.raises(openai.NotFoundError):
        running.client.chat.completions.create(model="model_nothing_here", messages=MESSAGES)


def test_openai_max_tokens_over_cap_raises_bad_request(running: RunningServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        running.client.chat.completions.create(
            model=TINY, messages=MESSAGES, max_tokens=running.settings.max_tokens_cap + 1
        )
    assert caught.value.status_code == 400


def test_openai_invalid_temperature_raises_422(running: RunningServer) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        running.client.chat.completions.create(model=TINY, messages=MESSAGES, temperature=3)


def test_openai_full_queue_raises_503(running_one_at_a_time: RunningServer) -> None:
    engine = running_one_at_a_time.app.state.runtime.engine
    open_stream = engine.stream_text(TINY, "Regular working hours", GenerationParams(max_tokens=8, temperature=0.0))
    try:
        with pytest.raises(openai.InternalServerError) as caught:
            running_one_at_a_time.client.chat.completions.create(model=TINY, messages=MESSAGES, max_tokens=4)
    finally:
        open_stream.close()
    assert caught.value.status_code == 503
    assert caught.value.response.headers["Retry-After"] == "1"


def test_openai_retrieve_model(running: RunningServer) -> None:
    model = running.client.models.retrieve("tiny-random-llama")
    assert model.id == "tiny-random-llama"
    with pytest.raises(openai.NotFoundError):
        running.client.models.retrieve("no-such-model")
