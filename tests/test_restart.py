"""Crash safety: a killed server and an interrupted delete, with real `alignd serve` processes."""

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from lifecycle import SAMPLE_TEXT
from server_process import ServerProcess, alignd_env, create_key


def _wait(fetch, done, timeout: float = 180.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    return alignd_env(tmp_path / "home")


def _start_training(base_url: str, headers: dict[str, str], max_steps: int) -> str:
    upload = httpx.post(f"{base_url}/api/v3/documents", headers=headers,
                        files=[("files", ("manual.md", SAMPLE_TEXT.encode(), "text/markdown"))], timeout=60)
    task_id = upload.json()[0]
    status = _wait(lambda: httpx.get(f"{base_url}/api/v3/documents/upload-status/{task_id}", headers=headers).json(),
                   lambda body: body["status"] != "PROCESSING")
    created = httpx.post(f"{base_url}/api/v3/alignment-project/create", headers=headers, timeout=60, json={
        "name": "crash test", "base_model": "tiny-random-llama", "document_ids": [status["document_id"]],
        "hyperparameters": {"max_steps": max_steps, "max_seq_length": 64, "batch_size": 2}})
    assert created.status_code == 200, created.text
    return created.json()["id"]


def test_killed_server_fails_interrupted_job_on_restart(server_env: dict[str, str], tmp_path: Path) -> None:
    key = create_key(server_env, "crash@example.com")
    headers = {"Authorization": f"Bearer {key}"}
    server = ServerProcess(server_env, tmp_path / "server.log")
    server.start()
    try:
        project_id = _start_training(server.base_url, headers, max_steps=20000)
        training = _wait(lambda: httpx.get(f"{server.base_url}/api/v3/alignment-project/{project_id}",
                                           headers=headers).json(),
                         lambda body: body["training"].get("phase") == "training")
        assert training["status"] == "PROCESSING"
        server.kill()

        # The orphaned training child notices its supervisor is gone and stops writing.
        project_dir = Path(server_env["ALIGND_HOME"]) / "artifacts" / "projects" / project_id
        time.sleep(4)
        snapshot = sorted((p, p.stat().st_mtime) for p in project_dir.rglob("*"))
        time.sleep(3)
        assert sorted((p, p.stat().st_mtime) for p in project_dir.rglob("*")) == snapshot

        server.start()
        project = httpx.get(f"{server.base_url}/api/v3/alignment-project/{project_id}", headers=headers).json()
        assert project["status"] == "FAILED"
        assert "interrupted" in project["error"].lower()
    finally:
        server.stop()


def test_interrupted_delete_is_finished_on_next_start(server_env: dict[str, str], tmp_path: Path) -> None:
    key = create_key(server_env, "crash@example.com")
    headers = {"Authorization": f"Bearer {key}"}
    server = ServerProcess(server_env, tmp_path / "server.log")
    server.start()
    try:
        project_id = _start_training(server.base_url, headers, max_steps=1)
        _wait(lambda: httpx.get(f"{server.base_url}/api/v3/alignment-project/{project_id}", headers=headers).json(),
              lambda body: body["status"] in ("READY", "FAILED"))
        server.stop()

        # A crash right after the delete guard committed leaves exactly this state.
        database = Path(server_env["ALIGND_HOME"]) / "alignd.db"
        with sqlite3.connect(database) as connection:
            connection.execute("UPDATE alignment_projects SET deleting = 1 WHERE id = ?", (project_id,))
        project_dir = Path(server_env["ALIGND_HOME"]) / "artifacts" / "projects" / project_id
        assert project_dir.exists()

        server.start()
        assert not project_dir.exists()
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT count(*) FROM alignment_projects WHERE id = ?", (project_id,)).fetchone()
        assert rows[0] == 0
        response = httpx.get(f"{server.base_url}/api/v3/alignment-project/{project_id}", headers=headers)
        assert response.status_code == 404
    finally:
        server.stop()


def test_stopped_server_stops_its_jobs_first(server_env: dict[str, str], tmp_path: Path) -> None:
    key = create_key(server_env, "stop@example.com")
    headers = {"Authorization": f"Bearer {key}"}
    server = ServerProcess(server_env, tmp_path / "server.log")
    server.start()
    try:
        project_id = _start_training(server.base_url, headers, max_steps=20000)
        _wait(lambda: httpx.get(f"{server.base_url}/api/v3/alignment-project/{project_id}", headers=headers).json(),
              lambda body: body["training"].get("phase") == "training")
        server.terminate()

        project_dir = Path(server_env["ALIGND_HOME"]) / "artifacts" / "projects" / project_id
        snapshot = sorted((p, p.stat().st_mtime) for p in project_dir.rglob("*"))
        time.sleep(3)
        assert sorted((p, p.stat().st_mtime) for p in project_dir.rglob("*")) == snapshot

        server.start()
        project = httpx.get(f"{server.base_url}/api/v3/alignment-project/{project_id}", headers=headers).json()
        assert project["status"] == "FAILED"
        assert project["error"].startswith("Interrupted")
    finally:
        server.stop()
