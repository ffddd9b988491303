"""Automatic before/after evaluation of alignment projects, and evaluating aligned models over HTTP."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.evaluations.models import Evaluation, EvaluationAnswer
from evaluation_support import BENCHMARK, EVALUATIONS, start_evaluation, upload_benchmark, wait_evaluation
from lifecycle import create_project, upload_document, wait_project

PHASE_METRICS = [
    "accuracy_before",
    "accuracy_after",
    "uncertainty_before",
    "uncertainty_after",
    "domain_violations_before",
    "domain_violations_after",
]


@pytest.fixture
def short_answers(settings: Settings) -> Settings:
    settings.eval_max_tokens = 12
    return settings


def evaluated_project(client: TestClient, auth: dict[str, str]) -> dict:
    """Create a project with a benchmark and wait until it is READY."""
    document_id = upload_document(client, auth)
    benchmark_id = upload_benchmark(client, auth, document_id=document_id)
    created = create_project(client, auth, [document_id], benchmark_id=benchmark_id)
    project = wait_project(client, auth, created["id"])
    assert project["status"] == "READY", project
    return project


def test_project_gets_before_and_after_metrics(
    client: TestClient, auth: dict[str, str], short_answers: Settings
) -> None:
    project = evaluated_project(client, auth)
    metrics = project["performance_metrics"]
    for name in PHASE_METRICS:
        assert isinstance(metrics.get(name), float), (name, metrics)
    assert 0.0 <= metrics["accuracy_after"] <= 1.0
    assert metrics["uncertainty_before"] > 0.0
    assert project["evaluation_id"].startswith("eval_")

    results = client.get(f"{EVALUATIONS}/{project['evaluation_id']}/results", headers=auth).json()
    assert results["project_id"] == project["id"]
    assert results["model_id"] == "tiny-random-llama"
    assert results["model_id_2"] == project["model_id"]
    assert results["metrics"]["accuracy"] == metrics["accuracy_before"]
    assert results["metrics_2"]["accuracy"] == metrics["accuracy_after"]
    assert results["metrics_2"]["domain_violations"] == metrics["domain_violations_after"]

    report = client.get(f"{EVALUATIONS}/{project['evaluation_id']}/download", headers=auth).json()
    assert len(report["questions"]) == 3
    assert all(isinstance(item["model_answer_2"], str) for item in report["questions"])


def test_aligned_models_show_evaluation_data(
    client: TestClient, auth: dict[str, str], short_answers: Settings
) -> None:
    project = evaluated_project(client, auth)
    models = client.get("/api/v3/models/aligned", headers=auth).json()["domain_aligned_models"]
    [model] = [model for model in models if model["id"] == project["model_id"]]
    data = model["evaluation_data"]
    assert data["evaluation_id"] == project["evaluation_id"]
    assert data["status"] == "READY"
    assert data["before"]["accuracy"] == project["performance_metrics"]["accuracy_before"]
    assert data["after"]["uncertainty"] == project["performance_metrics"]["uncertainty_after"]


def test_project_evaluation_cannot_be_deleted_alone(
    client: TestClient, auth: dict[str, str], short_answers: Settings
) -> None:
    project = evaluated_project(client, auth)
    response = client.delete(f"{EVALUATIONS}/{project['evaluation_id']}", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "evaluation_owned_by_project"
    assert project["id"] in response.json()["detail"]


def test_project_delete_removes_its_evaluation(
    client: TestClient, auth: dict[str, str], settings: Settings, short_answers: Settings
) -> None:
    project = evaluated_project(client, auth)
    evaluation_id = project["evaluation_id"]
    assert client.delete(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 200

    assert client.get(f"{EVALUATIONS}/{evaluation_id}/status", headers=auth).status_code == 404
    assert client.get(EVALUATIONS, headers=auth).json()["evaluations"] == []
    with session_scope(settings) as session:
        assert session.get(Evaluation, evaluation_id) is None
        answers = select(EvaluationAnswer).where(EvaluationAnswer.evaluation_id == evaluation_id)
        assert session.scalars(answers).all() == []
    # The benchmark is the user's own resource and stays.
    assert client.get(f"{BENCHMARK}/{project['benchmark_id']}/data", headers=auth).status_code == 200


def test_aligned_model_compared_with_its_base(
    client: TestClient, auth: dict[str, str], short_answers: Settings
) -> None:
    project = evaluated_project(client, auth)
    evaluation_id = start_evaluation(
        client, auth, model_id="tiny-random-llama", model_id_2=project["model_id"], benchmark_id=project["benchmark_id"]
    )["evaluation_id"]
    assert wait_evaluation(client, auth, evaluation_id)["status"] == "READY"

    results = client.get(f"{EVALUATIONS}/{evaluation_id}/results", headers=auth).json()
    assert set(results["metrics_by_model"]) == {"tiny-random-llama", project["model_id"]}
    # Greedy answers are deterministic, so the route's run agrees with the project's own evaluation.
    assert results["metrics"]["accuracy"] == project["performance_metrics"]["accuracy_before"]
    assert results["metrics_2"]["accuracy"] == project["performance_metrics"]["accuracy_after"]


def test_foreign_aligned_model_is_404(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], short_answers: Settings
) -> None:
    project = evaluated_project(client, other_auth)
    benchmark_id = upload_benchmark(client, auth)
    body = {"model_id": project["model_id"], "benchmark_id": benchmark_id}
    foreign = client.post(EVALUATIONS, headers=auth, json=body)
    assert foreign.status_code == 404
    assert foreign.json() == {"detail": f"Model '{project['model_id']}' not found.", "code": "model_not_found"}


def test_benchmark_of_training_project_cannot_be_deleted(
    client: TestClient, auth: dict[str, str], short_answers: Settings
) -> None:
    document_id = upload_document(client, auth)
    benchmark_id = upload_benchmark(client, auth, document_id=document_id)
    created = create_project(client, auth, [document_id], benchmark_id=benchmark_id)

    response = client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "benchmark_in_use"
    assert created["id"] in response.json()["detail"]

    model_response = client.post(
        EVALUATIONS, headers=auth, json={"model_id": created["model_id"], "benchmark_id": benchmark_id}
    )
    assert model_response.status_code == 400
    assert model_response.json()["code"] == "model_not_ready"

    assert wait_project(client, auth, created["id"])["status"] == "READY"
    assert client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth).status_code == 200
