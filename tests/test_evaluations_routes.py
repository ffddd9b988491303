"""Evaluation routes without a model run: validation, errors, status arithmetic, list, delete, ownership."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from alignd.benchmarks.models import Benchmark, BenchmarkSource, BenchmarkStatus
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.evaluations.models import Evaluation, EvaluationStatus
from alignd.timeutil import utcnow
from evaluation_support import EVALUATIONS, upload_benchmark

MODEL = "tiny-random-llama"


def owner_of(settings: Settings, benchmark_id: str) -> str:
    with session_scope(settings) as session:
        return session.get(Benchmark, benchmark_id).user_id


def insert_evaluation(settings: Settings, evaluation_id: str, benchmark_id: str, **values: object) -> str:
    """Store an evaluation row in the state a job leaves it in at some point of its run."""
    with session_scope(settings) as session:
        session.add(
            Evaluation(
                id=evaluation_id,
                user_id=owner_of(settings, benchmark_id),
                model_id=values.pop("model_id", MODEL),
                benchmark_id=benchmark_id,
                **values,
            )
        )
    return evaluation_id


def post(client: TestClient, auth: dict[str, str], **body: object):  # type: ignore[no-untyped-def]
    return client.post(EVALUATIONS, headers=auth, json=body)


# Create: validation and errors


def test_create_unknown_model_is_404(client: TestClient, auth: dict[str, str]) -> None:
    response = post(client, auth, model_id="no-such-model", benchmark_id=upload_benchmark(client, auth))
    assert response.status_code == 404
    assert response.json() == {"detail": "Model 'no-such-model' not found.", "code": "model_not_found"}


def test_create_unknown_second_model_is_404(client: TestClient, auth: dict[str, str]) -> None:
    response = post(
        client, auth, model_id=MODEL, model_id_2="model_x_alignment_1", benchmark_id=upload_benchmark(client, auth)
    )
    assert response.status_code == 404
    assert response.json()["code"] == "model_not_found"


def test_create_unknown_benchmark_is_404(client: TestClient, auth: dict[str, str]) -> None:
    response = post(client, auth, model_id=MODEL, benchmark_id="benchmark_missing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Benchmark 'benchmark_missing' not found.", "code": "benchmark_not_found"}


def test_create_foreign_benchmark_is_404(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    benchmark_id = upload_benchmark(client, other_auth)
    response = post(client, auth, model_id=MODEL, benchmark_id=benchmark_id)
    assert response.status_code == 404
    assert response.json()["code"] == "benchmark_not_found"


def test_create_on_processing_benchmark_is_400(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    reference = upload_benchmark(client, auth)
    with session_scope(settings) as session:
        session.add(
            Benchmark(
                id="benchmark_generating",
                user_id=owner_of(settings, reference),
                name="generating",
                source=BenchmarkSource.GENERATED,
                status=BenchmarkStatus.PROCESSING,
            )
        )
    response = post(client, auth, model_id=MODEL, benchmark_id="benchmark_generating")
    assert response.status_code == 400
    assert response.json()["code"] == "benchmark_not_ready"
    assert "PROCESSING" in response.json()["detail"]


def test_create_same_model_twice_is_422(client: TestClient, auth: dict[str, str]) -> None:
    response = post(client, auth, model_id=MODEL, model_id_2=MODEL, benchmark_id=upload_benchmark(client, auth))
    assert response.status_code == 422
    assert "model_id_2" in response.json()["detail"][0]["msg"]


def test_create_unknown_metric_is_422(client: TestClient, auth: dict[str, str]) -> None:
    response = post(client, auth, model_id=MODEL, benchmark_id="benchmark_x", custom_metrics=["accuracy", "bleu"])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "custom_metrics", 1]
    assert response.json()["detail"][0]["input"] == "bleu"


def test_create_judge_without_endpoint_is_400(client: TestClient, auth: dict[str, str]) -> None:
    response = post(
        client, auth, model_id=MODEL, benchmark_id=upload_benchmark(client, auth), custom_metrics=["llm_judge"]
    )
    assert response.status_code == 400
    assert response.json()["code"] == "judge_not_configured"
    assert "ALIGND_JUDGE_URL" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"benchmark_id": "benchmark_x"}, {"model_id": MODEL}, {"model_id": "", "benchmark_id": "b"}]
)
def test_create_missing_fields_is_422(client: TestClient, auth: dict[str, str], body: dict) -> None:
    assert client.post(EVALUATIONS, headers=auth, json=body).status_code == 422


# Status, results and download before the end


def test_status_reports_progress_and_eta(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    benchmark_id = upload_benchmark(client, auth)
    insert_evaluation(
        settings,
        "eval_halfway",
        benchmark_id,
        status=EvaluationStatus.PROCESSING,
        total_questions=10,
        completed_questions=3,
        answer_seconds=6.0,
        started_at=utcnow() - timedelta(seconds=7),
    )
    body = client.get(f"{EVALUATIONS}/eval_halfway/status", headers=auth).json()
    assert body["progress"] == "3/10 questions"
    assert body["completed_questions"] == 3
    assert body["remaining_questions"] == 7
    assert body["progress_percent"] == 30.0
    assert body["average_seconds_per_question"] == 2.0
    assert body["estimated_seconds_remaining"] == 14.0
    assert body["estimated_completion"] is not None


def test_status_before_first_answer_has_no_eta(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    insert_evaluation(
        settings, "eval_queued", upload_benchmark(client, auth), status=EvaluationStatus.PROCESSING, total_questions=3
    )
    body = client.get(f"{EVALUATIONS}/eval_queued/status", headers=auth).json()
    assert body["progress"] == "0/3 questions"
    assert body["average_seconds_per_question"] is None
    assert body["estimated_seconds_remaining"] is None


@pytest.mark.parametrize("route", ["results", "download"])
def test_unfinished_evaluation_has_no_results(
    client: TestClient, auth: dict[str, str], settings: Settings, route: str
) -> None:
    insert_evaluation(
        settings, "eval_running", upload_benchmark(client, auth), status=EvaluationStatus.PROCESSING, total_questions=3
    )
    response = client.get(f"{EVALUATIONS}/eval_running/{route}", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "evaluation_not_finished"
    assert "0/3 questions" in response.json()["detail"]


def test_failed_evaluation_results_name_error(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    insert_evaluation(
        settings,
        "eval_failed",
        upload_benchmark(client, auth),
        status=EvaluationStatus.FAILED,
        total_questions=3,
        error="RuntimeError: out of memory",
    )
    response = client.get(f"{EVALUATIONS}/eval_failed/results", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "evaluation_failed"
    assert "out of memory" in response.json()["detail"]
    status = client.get(f"{EVALUATIONS}/eval_failed/status", headers=auth).json()
    assert status["error"] == "RuntimeError: out of memory"


# List


def test_list_filters_and_pages(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], settings: Settings
) -> None:
    benchmark_id = upload_benchmark(client, auth)
    insert_evaluation(settings, "eval_a", benchmark_id, status=EvaluationStatus.READY, total_questions=3)
    insert_evaluation(settings, "eval_b", benchmark_id, status=EvaluationStatus.FAILED, total_questions=3)
    insert_evaluation(
        settings, "eval_c", benchmark_id, status=EvaluationStatus.READY, total_questions=3,
        model_id="model_other", model_id_2=MODEL,
    )
    insert_evaluation(settings, "eval_foreign", upload_benchmark(client, other_auth), total_questions=3)

    everything = client.get(EVALUATIONS, headers=auth).json()
    assert [item["evaluation_id"] for item in everything["evaluations"]] == ["eval_c", "eval_b", "eval_a"]
    assert everything["total"] == 3

    ready = client.get(EVALUATIONS, headers=auth, params={"status": "READY"}).json()
    assert [item["evaluation_id"] for item in ready["evaluations"]] == ["eval_c", "eval_a"]

    by_model = client.get(EVALUATIONS, headers=auth, params={"model_id": "model_other"}).json()
    assert [item["evaluation_id"] for item in by_model["evaluations"]] == ["eval_c"]

    page = client.get(EVALUATIONS, headers=auth, params={"limit": 1, "offset": 1}).json()
    assert [item["evaluation_id"] for item in page["evaluations"]] == ["eval_b"]
    assert page["total"] == 3
    assert page["limit"] == 1


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"status": "DONE"}, {"status": "ready"}, {"limit": "x"}]
)
def test_list_bad_query_is_422(client: TestClient, auth: dict[str, str], params: dict) -> None:
    response = client.get(EVALUATIONS, headers=auth, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_list_accepts_limit_bounds(client: TestClient, auth: dict[str, str]) -> None:
    for limit in (1, 100):
        assert client.get(EVALUATIONS, headers=auth, params={"limit": limit}).status_code == 200


# Delete and ownership


def test_delete_finished_evaluation(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    insert_evaluation(settings, "eval_done", upload_benchmark(client, auth), status=EvaluationStatus.READY)
    response = client.delete(f"{EVALUATIONS}/eval_done", headers=auth)
    assert response.status_code == 200
    assert response.json() == {"id": "eval_done", "message": "Evaluation successfully deleted"}
    assert client.get(f"{EVALUATIONS}/eval_done/status", headers=auth).status_code == 404


def test_second_delete_is_404(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    insert_evaluation(settings, "eval_done", upload_benchmark(client, auth), status=EvaluationStatus.READY)
    client.delete(f"{EVALUATIONS}/eval_done", headers=auth)
    response = client.delete(f"{EVALUATIONS}/eval_done", headers=auth)
    assert response.status_code == 404
    assert response.json()["code"] == "evaluation_not_found"


def test_deleting_benchmark_keeps_finished_evaluation(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    benchmark_id = upload_benchmark(client, auth)
    insert_evaluation(settings, "eval_done", benchmark_id, status=EvaluationStatus.READY, metrics_1={"accuracy": 1.0})
    assert client.delete(f"/api/v3/benchmark/{benchmark_id}", headers=auth).status_code == 200
    assert client.get(f"{EVALUATIONS}/eval_done/results", headers=auth).json()["metrics"] == {"accuracy": 1.0}


@pytest.mark.parametrize(
    ("method", "route"), [("get", "/status"), ("get", "/results"), ("get", "/download"), ("delete", "")]
)
def test_foreign_evaluation_is_same_404_as_missing(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], settings: Settings, method: str, route: str
) -> None:
    insert_evaluation(settings, "eval_theirs", upload_benchmark(client, other_auth), status=EvaluationStatus.READY)
    foreign = getattr(client, method)(f"{EVALUATIONS}/eval_theirs{route}", headers=auth)
    assert client.delete(f"{EVALUATIONS}/eval_theirs", headers=other_auth).status_code == 200
    missing = getattr(client, method)(f"{EVALUATIONS}/eval_theirs{route}", headers=auth)
    assert foreign.status_code == 404
    assert foreign.json() == missing.json()


def test_list_hides_foreign_evaluations(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], settings: Settings
) -> None:
    insert_evaluation(settings, "eval_theirs", upload_benchmark(client, other_auth), model_id=MODEL)
    assert client.get(EVALUATIONS, headers=auth, params={"model_id": MODEL}).json()["evaluations"] == []


@pytest.mark.parametrize("weird", ["a:b", "%25", "évaluation_ü", "x" * 500, "%00", "..", "eval_%20"])
def test_weird_ids_are_404(client: TestClient, auth: dict[str, str], weird: str) -> None:
    for method, route in (("get", "/status"), ("get", "/results"), ("get", "/download"), ("delete", "")):
        response = getattr(client, method)(f"{EVALUATIONS}/{quote(weird, safe='%')}{route}", headers=auth)
        assert response.status_code == 404, (method, route, response.text)


def test_weird_model_filter_lists_nothing(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(EVALUATIONS, headers=auth, params={"model_id": "a\x00b"})
    assert response.status_code == 200
    assert response.json()["evaluations"] == []


def test_routes_need_key(client: TestClient) -> None:
    assert client.get(EVALUATIONS).status_code == 401
