"""A small OpenAI-compatible chat server on 127.0.0.1 that plays the teacher model in tests.

It replies to each passage with one pair whose answer is the passage's first sentence, wrapped
in a fenced JSON block as chat models often do. ``fail_first`` makes the first N requests
answer 503, ``status`` makes every request answer that status, and ``content`` replaces the
reply text.
"""

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class TeacherLog:
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorization: list[str | None] = field(default_factory=list)


def _reply_for(body: dict[str, Any]) -> str:
    passage = body["messages"][-1]["content"].split("Passage:\n", 1)[1].rsplit("\n\nWrite", 1)[0]
    first_sentence = re.split(r"(?<=[.!?])\s", passage.strip(), maxsplit=1)[0]
    question = f"What is stated first in this part ({len(passage)} characters)?"
    pairs = {"pairs": [{"question": question, "answer": first_sentence}]}
    return "Here you are:\n```json\n" + json.dumps(pairs) + "\n```"


def build_app(log: TeacherLog, fail_first: int, status: int | None, content: str | None) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        log.requests.append(body)
        log.authorization.append(request.headers.get("authorization"))
        if status is not None:
            return JSONResponse({"error": {"message": "teacher says no"}}, status_code=status)
        if len(log.requests) <= fail_first:
            return JSONResponse({"error": {"message": "busy"}}, status_code=503)
        message = {"role": "assistant", "content": content if content is not None else _reply_for(body)}
        choices = [{"index": 0, "message": message}]
        return JSONResponse({"id": "chat-1", "object": "chat.completion", "choices": choices})

    return app


@contextmanager
def run_teacher(
    fail_first: int = 0, status: int | None = None, content: str | None = None
) -> Iterator[tuple[str, TeacherLog]]:
    """Serve the teacher on a free loopback port; yield (base URL ending in /v1, request log)."""
    log = TeacherLog()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_app(log, fail_first, status, content), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1", log
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
