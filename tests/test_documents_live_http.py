"""Documents over real HTTP: a uvicorn server on 127.0.0.1 and an httpx client.

These cases need a real server: Starlette's TestClient decodes percent escapes in the
path twice, and it never streams a request body in chunks.
"""

import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from alignd.app import create_app
from alignd.auth.service import create_key
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.documents.storage import staging_root

DOCUMENTS = "/api/v3/documents"
BOUNDARY = "alignd-test-boundary"


@pytest.fixture
def server_url(settings: Settings) -> Iterator[str]:
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=60)


@pytest.fixture
def http(server_url: str, settings: Settings) -> Iterator[httpx.Client]:
    with session_scope(settings) as session:
        created = create_key(session, "dana@example.com")
    headers = {"Authorization": f"Bearer {created.raw_key}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=60) as client:
        yield client


PERCENT_IDS = ["%41", "%2541", "a%2Fb", "100%", "%", "doc_%00", "%E2%82%AC"]


@pytest.mark.parametrize("weird_id", PERCENT_IDS)
def test_delete_id_with_percent_matched_exactly(http: httpx.Client, weird_id: str) -> None:
    response = http.delete(f"{DOCUMENTS}/{quote(weird_id, safe='')}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Document '{weird_id}' not found.", "code": "document_not_found"}


@pytest.mark.parametrize("weird_id", PERCENT_IDS)
def test_upload_status_id_with_percent_matched_exactly(http: httpx.Client, weird_id: str) -> None:
    response = http.get(f"{DOCUMENTS}/upload-status/{quote(weird_id, safe='')}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Upload task '{weird_id}' not found.", "code": "upload_task_not_found"}


def test_escaped_document_id_does_not_match(http: httpx.Client) -> None:
    (task_id,) = http.post(DOCUMENTS, files=[("files", ("a.txt", b"alpha"))]).json()
    document_id = http.get(f"{DOCUMENTS}/upload-status/{task_id}").json()["document_id"]

    # "%64" is the escape of "d": a server that decoded the path twice would find the document.
    escaped = http.delete(f"{DOCUMENTS}/{quote('%64' + document_id[1:], safe='')}")
    plain = http.delete(f"{DOCUMENTS}/{document_id}")

    assert escaped.status_code == 404
    assert plain.status_code == 200


def multipart_chunks(filename: str, size: int, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """Yield a multipart body with one file part of ``size`` bytes, a chunk at a time."""
    yield (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    sent = 0
    while sent < size:
        step = min(chunk_size, size - sent)
        yield b"a" * step
        sent += step
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_streamed_file_over_limit_is_413(http: httpx.Client, settings: Settings) -> None:
    settings.max_upload_bytes = 256 * 1024

    # A generator body goes out with chunked transfer encoding, without a Content-Length.
    response = http.post(
        DOCUMENTS,
        content=multipart_chunks("stream.txt", 2 * 1024 * 1024),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "'stream.txt'" in response.json()["detail"]
    assert list(settings.documents_dir.iterdir()) == []
    assert list(staging_root(settings).iterdir()) == []


def test_streamed_file_under_limit_is_stored(http: httpx.Client, settings: Settings) -> None:
    settings.max_upload_bytes = 256 * 1024

    response = http.post(
        DOCUMENTS,
        content=multipart_chunks("stream.txt", 200 * 1024),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )

    assert response.status_code == 200
    (document,) = http.get(DOCUMENTS).json()["documents"]
    assert document["size"] == 200 * 1024
