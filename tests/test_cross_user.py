"""Another user's ids get the same 404 as ids that never existed, on every route."""

import json

import pytest
from fastapi.testclient import TestClient

from lifecycle import deploy, ready_project, wait_for

BENCHMARK = [{"question_num": 1, "question": "What is the speed limit?", "answer": "5 knots"}]


@pytest.fixture
def owned(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    """Alice's resources: a deployed aligned model, a document, a benchmark and an evaluation."""
    project = ready_project(client, auth)
    deploy(client, auth, project["model_id"])
    upload = client.post("/api/v3/documents", headers=auth,
                         files=[("files", ("extra.txt", b"Quay 7 is for fishing vessels.", "text/plain"))])
    task_id = upload.json()[0]
    benchmark = client.post(
        "/api/v3/benchmark/upload", headers=auth,
        files={"file": ("bench.json", json.dumps(BENCHMARK).encode(), "application/json")},
        data={"name": "bench", "document_id": project["documents"][0], "description": "d"},
    )
    assert benchmark.status_code == 200, benchmark.text
    benchmark_id = benchmark.json()["id"]
    evaluation = client.post("/api/v3/evaluations", headers=auth,
                             json={"model_id": "tiny-random-llama", "benchmark_id": benchmark_id})
    assert evaluation.status_code == 200, evaluation.text
    evaluation_id = evaluation.json()["evaluation_id"]
    wait_for(lambda: client.get(f"/api/v3/evaluations/{evaluation_id}/status", headers=auth).json(),
             lambda body: body.get("status") != "PROCESSING")
    return {
        "project": project["id"], "model": project["model_id"], "document": project["documents"][0],
        "task": task_id, "benchmark": benchmark_id, "evaluation": evaluation_id,
    }


def _routes(ids: dict[str, str]) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/api/v3/documents/upload-status/{ids['task']}", None),
        ("DELETE", f"/api/v3/documents/{ids['document']}", None),
        ("GET", f"/api/v3/alignment-project/{ids['project']}", None),
        ("GET", f"/api/v3/alignment/{ids['project']}", None),
        ("GET", f"/api/v3/alignment-project/status/{ids['project']}", None),
        ("GET", f"/api/v3/alignment-project/{ids['project']}/dataset", None),
        ("DELETE", f"/api/v3/alignment-project/{ids['project']}", None),
        ("GET", f"/api/v3/models/aligned/{ids['model']}", None),
        ("PATCH", f"/api/v3/models/aligned/{ids['model']}", {"conversation_saving_enabled": True}),
        ("POST", f"/api/v3/models/deploy-model/{ids['model']}", None),
        ("GET", f"/api/v3/models/deploy-model/{ids['model']}/status", None),
        ("DELETE", f"/api/v3/models/undeploy-model/{ids['model']}", None),
        ("GET", f"/api/v3/models/undeploy-model/{ids['model']}/status", None),
        ("POST", "/api/v3/inference/chat/completions",
         {"model": ids["model"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}),
        ("POST", "/api/v3/inference/completions", {"model": ids["model"], "prompt": "hi", "max_tokens": 2}),
        ("POST", "/v1/chat/completions",
         {"model": ids["model"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}),
        ("GET", f"/api/v3/benchmark/status/{ids['benchmark']}", None),
        ("GET", f"/api/v3/benchmark/{ids['benchmark']}/data", None),
        ("DELETE", f"/api/v3/benchmark/{ids['benchmark']}", None),
        ("GET", f"/api/v3/evaluations/{ids['evaluation']}/status", None),
        ("GET", f"/api/v3/evaluations/{ids['evaluation']}/results", None),
        ("GET", f"/api/v3/evaluations/{ids['evaluation']}/download", None),
        ("DELETE", f"/api/v3/evaluations/{ids['evaluation']}", None),
    ]


def _unknown(ids: dict[str, str]) -> dict[str, str]:
    """Ids of the same shape that exist nowhere."""
    return {name: value[:-4] + "ZZZZ" for name, value in ids.items()}


def test_foreign_ids_get_same_404_as_unknown(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], owned: dict[str, str]
) -> None:
    unknown_ids = _unknown(owned)
    for (method, path, body), (_, unknown_path, unknown_body) in zip(_routes(owned), _routes(unknown_ids)):
        foreign = client.request(method, path, headers=other_auth, json=body)
        missing = client.request(method, unknown_path, headers=other_auth, json=unknown_body)
        assert foreign.status_code == 404, (method, path, foreign.text)
        assert missing.status_code == 404, (method, unknown_path, missing.text)
        assert foreign.json()["code"] == missing.json()["code"], (method, path)
        foreign_detail = _mask(foreign.json()["detail"], owned)
        assert foreign_detail == _mask(missing.json()["detail"], unknown_ids), (method, path)


def _mask(detail: str, ids: dict[str, str]) -> str:
    for value in ids.values():
        detail = detail.replace(value, "ID")
    return detail


def test_foreign_calls_change_nothing(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], owned: dict[str, str]
) -> None:
    for method, path, body in _routes(owned):
        client.request(method, path, headers=other_auth, json=body)
    assert client.get(f"/api/v3/alignment-project/{owned['project']}", headers=auth).status_code == 200
    model = client.get(f"/api/v3/models/aligned/{owned['model']}", headers=auth).json()
    assert model["deployment_status"] == "DEPLOYED"
    assert model["conversation_saving_enabled"] is False
    assert client.get(f"/api/v3/benchmark/{owned['benchmark']}/data", headers=auth).status_code == 200
    assert client.get(f"/api/v3/evaluations/{owned['evaluation']}/status", headers=auth).status_code == 200
    documents = client.get("/api/v3/documents", headers=auth).json()["documents"]
    assert owned["document"] in [d["id"] for d in documents]


def test_lists_never_show_other_users(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], owned: dict[str, str]
) -> None:
    assert client.get("/api/v3/documents", headers=other_auth).json()["documents"] == []
    assert client.get("/api/v3/alignment-project", headers=other_auth).json()["alignment_projects"] == []
    assert client.get("/api/v3/models/aligned", headers=other_auth).json()["domain_aligned_models"] == []
    assert client.get("/api/v3/benchmark/list", headers=other_auth).json()["benchmarks"] == []
    evaluations = client.get("/api/v3/evaluations", headers=other_auth).json()
    assert evaluations["evaluations"] == []
    model_ids = [m["id"] for m in client.get("/v1/models", headers=other_auth).json()["data"]]
    assert owned["model"] not in model_ids
