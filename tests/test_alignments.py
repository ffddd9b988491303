"""Alignment project routes: create, read, list, status, dataset and their errors."""

import re

import pytest
from fastapi.testclient import TestClient

from lifecycle import create_project, upload_document, wait_project

PREFIXES = ["/api/v3/alignment-project", "/api/v3/alignment"]


def test_create_returns_both_ids_and_processing(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    body = create_project(client, auth, [document_id], name="Harbor Rules v2")
    assert body["id"] == body["alignment_id"]
    assert body["id"].startswith("alignment_")
    assert body["status"] == "PROCESSING"
    assert body["model_id"] == f"model_harbor_rules_v2_{body['id'].lower()}"


def test_alignment_trains_to_ready(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    created = create_project(client, auth, [document_id])
    project = wait_project(client, auth, created["id"])
    assert project["status"] == "READY", project
    assert project["progress"] == 100
    assert project["completed_date"] is not None
    assert project["documents"] == [document_id]
    assert project["document_count"] == 1
    assert project["creator"] == "alice@example.com"
    assert project["deployment_status"] == "UNDEPLOYED"
    assert project["hyperparameters"]["max_steps"] == 2
    assert "train_loss" in project["performance_metrics"]

    status = client.get(f"/api/v3/alignment-project/status/{created['id']}", headers=auth).json()
    assert status["status"] == "READY"
    assert status["data"]["id"] == created["id"]
    assert status["start_time"] is not None
    assert status["end_time"] is not None

    dataset = client.get(f"/api/v3/alignment-project/{created['id']}/dataset", headers=auth).json()
    assert dataset["total"] > 0
    assert len(dataset["examples"]) > 0


@pytest.mark.parametrize("prefix", PREFIXES)
def test_both_prefixes_serve_get_and_list(client: TestClient, auth: dict[str, str], prefix: str) -> None:
    document_id = upload_document(client, auth)
    created = create_project(client, auth, [document_id])
    assert client.get(f"{prefix}/{created['id']}", headers=auth).json()["id"] == created["id"]
    listed = client.get(prefix, headers=auth).json()["alignment_projects"]
    assert [p["id"] for p in listed] == [created["id"]]
    wait_project(client, auth, created["id"])


def test_list_is_newest_first_with_limit_and_offset(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    ids = [create_project(client, auth, [document_id], name=f"p{i}")["id"] for i in range(3)]
    page = client.get("/api/v3/alignment-project?limit=2&offset=0", headers=auth).json()
    assert [p["id"] for p in page["alignment_projects"]] == [ids[2], ids[1]]
    assert page["total"] == 3
    rest = client.get("/api/v3/alignment-project?limit=2&offset=2", headers=auth).json()
    assert [p["id"] for p in rest["alignment_projects"]] == [ids[0]]
    for project_id in ids:
        wait_project(client, auth, project_id)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=abc"])
def test_list_rejects_bad_paging(client: TestClient, auth: dict[str, str], query: str) -> None:
    response = client.get(f"/api/v3/alignment-project?{query}", headers=auth)
    assert response.status_code == 422


def test_create_unknown_base_model_is_400(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post("/api/v3/alignment-project/create", headers=auth,
                           json={"name": "x", "base_model": "gpt-99", "document_ids": [document_id]})
    assert response.status_code == 400
    assert response.json()["code"] == "base_model_not_alignable"
    assert "gpt-99" in response.json()["detail"]


def test_create_missing_document_is_404_naming_it(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post("/api/v3/alignment-project/create", headers=auth, json={
        "name": "x", "base_model": "tiny-random-llama", "document_ids": [document_id, "doc_missing1", "doc_missing2"]})
    assert response.status_code == 404
    assert response.json()["code"] == "document_not_found"
    assert "doc_missing1" in response.json()["detail"]


def test_create_foreign_document_is_404(client: TestClient, auth: dict[str, str], other_auth: dict[str, str]) -> None:
    foreign = upload_document(client, other_auth)
    response = client.post("/api/v3/alignment-project/create", headers=auth, json={
        "name": "x", "base_model": "tiny-random-llama", "document_ids": [foreign]})
    assert response.status_code == 404
    assert response.json()["code"] == "document_not_found"


def test_create_missing_benchmark_is_404(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post("/api/v3/alignment-project/create", headers=auth, json={
        "name": "x", "base_model": "tiny-random-llama", "document_ids": [document_id], "benchmark_id": "benchmark_nope"})
    assert response.status_code == 404
    assert response.json()["code"] == "benchmark_not_found"


@pytest.mark.parametrize(("field", "value"), [
    ("epochs", 0), ("max_steps", -3), ("learning_rate", 5.0), ("lora_r", 0),
    ("batch_size", "many"), ("max_seq_length", 4), ("unknown_knob", 1),
])
def test_create_bad_hyperparameter_is_422_naming_field_and_value(
    client: TestClient, auth: dict[str, str], field: str, value: object
) -> None:
    document_id = upload_document(client, auth)
    response = client.post("/api/v3/alignment-project/create", headers=auth, json={
        "name": "x", "base_model": "tiny-random-llama", "document_ids": [document_id],
        "hyperparameters": {field: value}})
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"][-1] == field
    assert error["input"] == value


@pytest.mark.parametrize("body", [
    {"base_model": "tiny-random-llama", "document_ids": ["doc_x"]},
    {"name": "x", "document_ids": ["doc_x"]},
    {"name": "x", "base_model": "tiny-random-llama", "document_ids": []},
    {"name": "   ", "base_model": "tiny-random-llama", "document_ids": ["doc_x"]},
])
def test_create_missing_fields_is_422(client: TestClient, auth: dict[str, str], body: dict) -> None:
    response = client.post("/api/v3/alignment-project/create", headers=auth, json=body)
    assert response.status_code == 422


@pytest.mark.parametrize("weird", ["a:b", "100%25", "with space", "ünïcødé", "x" * 300, "alignment_%3A"])
def test_weird_ids_are_404(client: TestClient, auth: dict[str, str], weird: str) -> None:
    for method, path in [("GET", f"/api/v3/alignment-project/{weird}"),
                         ("GET", f"/api/v3/alignment-project/status/{weird}"),
                         ("GET", f"/api/v3/alignment-project/{weird}/dataset"),
                         ("DELETE", f"/api/v3/alignment-project/{weird}"),
                         ("POST", f"/api/v3/models/deploy-model/{weird}"),
                         ("GET", f"/api/v3/models/deploy-model/{weird}/status"),
                         ("DELETE", f"/api/v3/models/undeploy-model/{weird}")]:
        response = client.request(method, path, headers=auth)
        assert response.status_code == 404, (method, path, response.text)


def test_model_id_is_lower_snake(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    body = create_project(client, auth, [document_id], name="  Ärzte & Häfen: 2024!  ")
    assert re.fullmatch(r"model_[0-9a-z_]+_alignment_[0-9a-z]{26}", body["model_id"]), body["model_id"]
    wait_project(client, auth, body["id"])


def test_create_teacher_without_endpoint_is_400(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post("/api/v3/alignment-project/create", headers=auth, json={
        "name": "x", "base_model": "tiny-random-llama", "document_ids": [document_id], "data_generator": "teacher"})
    assert response.status_code == 400
    assert response.json()["code"] == "teacher_not_configured"


def test_create_sequence_longer_than_context_is_400(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post("/api/v3/alignment-project/create", headers=auth, json={
        "name": "x", "base_model": "tiny-random-llama", "document_ids": [document_id],
        "hyperparameters": {"max_seq_length": 8192}})
    assert response.status_code == 400
    assert "8192" in response.json()["detail"]
