"""Evaluation runs on tiny-random-llama over HTTP: results, download, comparison, the LLM judge, deleting."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alignd.catalog.service import ensure_checkpoint
from alignd.catalog.user_models import add_user_model
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.evaluations.models import EvaluationAnswer
from alignd.jobs.models import Job
from evaluation_support import (
    BENCHMARK,
    EVALUATIONS,
    HARBOR_QUESTIONS,
    start_evaluation,
    upload_benchmark,
    wait_evaluation,
)
from lifecycle import upload_document

MODEL = "tiny-random-llama"


@pytest.fixture
def short_answers(settings: Settings) -> Settings:
    """Keep generated answers short, so a run on the random model takes seconds."""
    settings.eval_max_tokens = 12
    return settings


# A real run


def test_evaluation_runs_to_ready(client: TestClient, auth: dict[str, str], short_answers: Settings) -> None:
    document_id = upload_document(client, auth)
    benchmark_id = upload_benchmark(client, auth, document_id=document_id)

    created = start_evaluation(client, auth, model_id=MODEL, benchmark_id=benchmark_id)
    assert created["evaluation_id"].startswith("eval_")
    assert created["model_id"] == MODEL
    assert created["benchmark_id"] == benchmark_id
    assert created["status"] == "PROCESSING"
    assert created["created_at"].endswith("Z") or "+00:00" in created["created_at"]
    assert created["message"]

    status = wait_evaluation(client, auth, created["evaluation_id"])
    assert status["status"] == "READY", status
    assert status["progress"] == "3/3 questions"
    assert status["completed_questions"] == 3
    assert status["remaining_questions"] == 0
    assert status["average_seconds_per_question"] > 0
    assert status["estimated_seconds_remaining"] == 0

    results = client.get(f"{EVALUATIONS}/{created['evaluation_id']}/results", headers=auth)
    assert results.status_code == 200, results.text
    metrics = results.json()["metrics"]
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["uncertainty"] > 0.0
    assert 0.0 <= metrics["domain_violations"] <= 1.0
    assert metrics["answered_questions"] == 3
    assert results.json()["metrics_by_model"] == {MODEL: metrics}
    assert results.json()["metrics_2"] is None
    assert results.json()["settings"]["accuracy_threshold"] == short_answers.eval_accuracy_threshold

    download = client.get(f"{EVALUATIONS}/{created['evaluation_id']}/download", headers=auth)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-type"].startswith("application/json")
    report = json.loads(download.content)
    assert report["metrics"] == metrics
    assert [item["question_num"] for item in report["questions"]] == [1, 2, 3]
    first = report["questions"][0]
    assert first["question"] == HARBOR_QUESTIONS[0]["question"]
    assert first["expected_answer"] == HARBOR_QUESTIONS[0]["answer"]
    assert isinstance(first["model_answer"], str)
    assert {"semantic_similarity", "token_f1", "score", "correct", "mean_entropy", "domain_violation"} <= set(
        first["scores"]
    )
    assert first["model_answer_2"] is None


def test_evaluation_is_deterministic(client: TestClient, auth: dict[str, str], short_answers: Settings) -> None:
    benchmark_id = upload_benchmark(client, auth)
    answers = []
    for _ in range(2):
        evaluation_id = start_evaluation(client, auth, model_id=MODEL, benchmark_id=benchmark_id)["evaluation_id"]
        assert wait_evaluation(client, auth, evaluation_id)["status"] == "READY"
        report = client.get(f"{EVALUATIONS}/{evaluation_id}/download", headers=auth).json()
        answers.append([item["model_answer"] for item in report["questions"]])
    assert answers[0] == answers[1]


def test_comparison_mode_scores_both_models(
    client: TestClient, auth: dict[str, str], short_answers: Settings
) -> None:
    # A second base model registered from the same checkpoint: same weights, another id.
    add_user_model(short_answers, "tiny-copy", ensure_checkpoint(short_answers, MODEL))
    benchmark_id = upload_benchmark(client, auth)
    evaluation_id = start_evaluation(
        client, auth, model_id=MODEL, model_id_2="tiny-copy", benchmark_id=benchmark_id
    )["evaluation_id"]
    status = wait_evaluation(client, auth, evaluation_id)
    assert status["status"] == "READY", status

    results = client.get(f"{EVALUATIONS}/{evaluation_id}/results", headers=auth).json()
    assert results["model_id_2"] == "tiny-copy"
    assert set(results["metrics_by_model"]) == {MODEL, "tiny-copy"}
    assert results["metrics_2"]["answered_questions"] == 3
    # Same weights and greedy decoding give the same answers, so every difference is zero.
    assert results["comparison"]["accuracy_difference"] == 0.0
    assert results["comparison"]["uncertainty_difference"] == pytest.approx(0.0, abs=1e-6)
    report = client.get(f"{EVALUATIONS}/{evaluation_id}/download", headers=auth).json()
    for item in report["questions"]:
        assert item["model_answer_2"] == item["model_answer"]
        assert "score" in item["scores_2"]


class JudgeServer:
    """An OpenAI-compatible chat endpoint on 127.0.0.1 that grades every answer 7 out of 10."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": "7"}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "JudgeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def judge(short_answers: Settings) -> Iterator[JudgeServer]:
    with JudgeServer() as server:
        short_answers.judge_url = server.url
        short_answers.judge_model = "grader"
        short_answers.judge_api_key = "judge-key"
        yield server


def test_llm_judge_grades_every_answer(client: TestClient, auth: dict[str, str], judge: JudgeServer) -> None:
    benchmark_id = upload_benchmark(client, auth)
    evaluation_id = start_evaluation(
        client, auth, model_id=MODEL, benchmark_id=benchmark_id, custom_metrics=["llm_judge", "accuracy"]
    )["evaluation_id"]
    assert wait_evaluation(client, auth, evaluation_id)["status"] == "READY"

    metrics = client.get(f"{EVALUATIONS}/{evaluation_id}/results", headers=auth).json()["metrics"]
    assert metrics["llm_judge"] == pytest.approx(0.7)
    assert metrics["llm_judge_failures"] == 0
    assert len(judge.requests) == 3
    assert judge.requests[0]["path"] == "/v1/chat/completions"
    assert judge.requests[0]["auth"] == "Bearer judge-key"
    assert judge.requests[0]["body"]["model"] == "grader"
    assert HARBOR_QUESTIONS[0]["question"] in judge.requests[0]["body"]["messages"][1]["content"]


def test_judge_is_not_called_unless_asked(client: TestClient, auth: dict[str, str], judge: JudgeServer) -> None:
    benchmark_id = upload_benchmark(client, auth)
    evaluation_id = start_evaluation(client, auth, model_id=MODEL, benchmark_id=benchmark_id)["evaluation_id"]
    assert wait_evaluation(client, auth, evaluation_id)["status"] == "READY"
    metrics = client.get(f"{EVALUATIONS}/{evaluation_id}/results", headers=auth).json()["metrics"]
    assert "llm_judge" not in metrics
    assert judge.requests == []


# Deleting while it runs

LONG_BENCHMARK = [
    {"question_num": number, "question": f"What does rule {number} of the harbor say?", "answer": "Use two lines."}
    for number in range(1, 41)
]


def test_delete_running_evaluation_stops_it(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    settings.eval_max_tokens = 64
    benchmark_id = upload_benchmark(client, auth, LONG_BENCHMARK)
    evaluation_id = start_evaluation(client, auth, model_id=MODEL, benchmark_id=benchmark_id)["evaluation_id"]

    response = client.delete(f"{EVALUATIONS}/{evaluation_id}", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": evaluation_id, "message": "Evaluation successfully deleted"}
    assert client.get(f"{EVALUATIONS}/{evaluation_id}/status", headers=auth).status_code == 404
    with session_scope(settings) as session:
        assert session.scalars(select(Job).where(Job.target_id == evaluation_id)).all() == []
        answers = select(EvaluationAnswer).where(EvaluationAnswer.evaluation_id == evaluation_id)
        assert session.scalars(answers).all() == []


def test_benchmark_delete_while_evaluation_runs_is_400(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    settings.eval_max_tokens = 64
    benchmark_id = upload_benchmark(client, auth, LONG_BENCHMARK)
    evaluation_id = start_evaluation(client, auth, model_id=MODEL, benchmark_id=benchmark_id)["evaluation_id"]

    response = client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "benchmark_in_use"
    assert evaluation_id in response.json()["detail"]

    client.delete(f"{EVALUATIONS}/{evaluation_id}", headers=auth)
    assert client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth).status_code == 200
