"""Steps shared by the evaluation tests: benchmarks, evaluations and polling over HTTP."""

import json
from typing import Any

from fastapi.testclient import TestClient

from lifecycle import wait_for

BENCHMARK = "/api/v3/benchmark"
EVALUATIONS = "/api/v3/evaluations"

HARBOR_QUESTIONS = [
    {"question_num": 1, "question": "Who assigns berths?", "answer": "The harbor master assigns berths."},
    {
        "question_num": 2,
        "question": "How many bow lines must a vessel use at pier 4?",
        "answer": "Every vessel must use two bow lines and two stern lines when moored at pier 4.",
    },
    {"question_num": 3, "question": "When is fuelling allowed?", "answer": "Between 06:00 and 18:00."},
]


def upload_benchmark(
    client: TestClient, auth: dict[str, str], questions: list[dict[str, Any]] | None = None, **form: str
) -> str:
    payload = json.dumps(questions or HARBOR_QUESTIONS).encode()
    response = client.post(
        f"{BENCHMARK}/upload", headers=auth, files={"file": ("harbor.json", payload, "application/json")}, data=form
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def start_evaluation(client: TestClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(EVALUATIONS, headers=auth, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def wait_evaluation(client: TestClient, auth: dict[str, str], evaluation_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: client.get(f"{EVALUATIONS}/{evaluation_id}/status", headers=auth).json(),
        lambda body: body["status"] != "PROCESSING",
        timeout=400.0,
    )
