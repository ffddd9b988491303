"""Steps of the alignment lifecycle over HTTP, shared by the lifecycle tests."""

import time
from typing import Any

from fastapi.testclient import TestClient

SAMPLE_TEXT = """# Harbor Safety Manual

## 1. Mooring rules
1. Every vessel must use two bow lines and two stern lines when moored at pier 4.
2. Mooring lines are inspected every 12 hours by the duty officer.

## 2. Definitions
A berth is the assigned place where a vessel lies alongside the quay.
The harbor master is the officer who assigns berths and approves departures.

## 3. Fuel handling
Fuelling is allowed only between 06:00 and 18:00 and never during thunderstorms.
A spill kit must stand within ten meters of every fuelling hose.
"""


def upload_document(client: TestClient, auth: dict[str, str], text: str = SAMPLE_TEXT,
                    filename: str = "manual.md") -> str:
    response = client.post(
        "/api/v3/documents", headers=auth, files=[("files", (filename, text.encode(), "text/markdown"))]
    )
    assert response.status_code == 200, response.text
    task_id = response.json()[0]
    status = wait_for(lambda: client.get(f"/api/v3/documents/upload-status/{task_id}", headers=auth).json(),
                      lambda body: body["status"] != "PROCESSING")
    assert status["status"] == "COMPLETED", status
    return status["document_id"]


def create_project(client: TestClient, auth: dict[str, str], document_ids: list[str], *,
                   name: str = "Harbor rules", max_steps: int = 2, **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "base_model": "tiny-random-llama",
        "document_ids": document_ids,
        "hyperparameters": {"max_steps": max_steps, "max_seq_length": 64, "batch_size": 2},
        **extra,
    }
    response = client.post("/api/v3/alignment-project/create", headers=auth, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(fetch, done, timeout: float = 240.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Call fetch() until done(result) holds; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def wait_project(client: TestClient, auth: dict[str, str], project_id: str,
                 statuses: tuple[str, ...] = ("READY", "FAILED"), timeout: float = 240.0) -> dict[str, Any]:
    return wait_for(
        lambda: client.get(f"/api/v3/alignment-project/{project_id}", headers=auth).json(),
        lambda body: body.get("status") in statuses,
        timeout=timeout,
    )


def deploy(client: TestClient, auth: dict[str, str], model_id: str) -> dict[str, Any]:
    response = client.post(f"/api/v3/models/deploy-model/{model_id}", headers=auth)
    assert response.status_code == 200, response.text
    return wait_for(
        lambda: client.get(f"/api/v3/models/deploy-model/{model_id}/status", headers=auth).json(),
        lambda body: body["status"] != "PENDING",
    )


def ready_project(client: TestClient, auth: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    document_id = upload_document(client, auth)
    created = create_project(client, auth, [document_id], **kwargs)
    project = wait_project(client, auth, created["id"])
    assert project["status"] == "READY", project
    return project
