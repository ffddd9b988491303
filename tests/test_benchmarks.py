"""Benchmarks over HTTP: upload and its validation, status, list, data, delete and ownership."""

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from alignd.benchmarks.models import Benchmark
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.evaluations.models import Evaluation, EvaluationStatus
from alignd.benchmarks.service import benchmark_questions
from alignd.evaluations.metrics import normalize_tokens
from lifecycle import SAMPLE_TEXT, upload_document, wait_for

BENCHMARK = "/api/v3/benchmark"

QUESTIONS = [
    {"question_num": 2, "question": "How many stern lines are used at pier 4?", "answer": "Two stern lines."},
    {"question_num": 1, "question": "Who assigns berths?", "answer": "The harbor master assigns berths."},
    {"question_num": 3, "question": "When is fuelling allowed?", "answer": "Between 06:00 and 18:00."},
]


def upload_benchmark(
    client: TestClient,
    auth: dict[str, str],
    content: bytes | None = None,
    *,
    filename: str = "harbor.json",
    **form: str,
):
    payload = json.dumps(QUESTIONS).encode() if content is None else content
    return client.post(
        f"{BENCHMARK}/upload",
        headers=auth,
        files={"file": (filename, payload, "application/json")},
        data=form,
    )


def uploaded_id(client: TestClient, auth: dict[str, str], **form: str) -> str:
    response = upload_benchmark(client, auth, **form)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def upload_error(client: TestClient, auth: dict[str, str], items) -> dict:  # type: ignore[no-untyped-def]
    response = upload_benchmark(client, auth, json.dumps(items).encode() if not isinstance(items, bytes) else items)
    assert response.status_code == 400, response.text
    return response.json()


# Upload


def test_upload_returns_benchmark_with_questions(client: TestClient, auth: dict[str, str]) -> None:
    response = upload_benchmark(client, auth, name="Harbor", description="Pier rules")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("benchmark_")
    assert body["status"] == "READY"
    assert body["benchmark_name"] == "Harbor"
    assert body["description"] == "Pier rules"
    assert body["num_questions"] == 3
    assert [item["question_num"] for item in body["questions"]] == [1, 2, 3]
    assert body["questions"][0] == {
        "question_num": 1,
        "question": "Who assigns berths?",
        "answer": "The harbor master assigns berths.",
    }


def test_upload_name_defaults_to_file_name(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_benchmark(client, auth, filename="pier-rules.json").json()
    assert body["benchmark_name"] == "pier-rules"


def test_upload_with_document_links_it(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    body = upload_benchmark(client, auth, document_id=document_id).json()
    assert body["document_ids"] == [document_id]


def test_upload_with_foreign_document_is_404(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    document_id = upload_document(client, other_auth)
    response = upload_benchmark(client, auth, document_id=document_id)
    assert response.status_code == 404
    assert response.json()["code"] == "document_not_found"
    assert document_id in response.json()["detail"]


def test_upload_without_file_is_422(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(f"{BENCHMARK}/upload", headers=auth, data={"name": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]


def test_upload_bad_json_rejected(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, b'[{"question_num": 1,,}]')
    assert body["code"] == "invalid_benchmark_file"
    assert "not valid JSON" in body["detail"]
    assert "line 1" in body["detail"]


def test_upload_empty_file_rejected(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, b"")
    assert "is empty" in body["detail"]


def test_upload_non_utf8_rejected(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, b'[{"question": "\xff\xfe"}]')
    assert "not UTF-8" in body["detail"]


def test_upload_object_instead_of_array_rejected(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, {"questions": QUESTIONS})
    assert "JSON array" in body["detail"]
    assert "not a JSON object" in body["detail"]


def test_upload_empty_list_rejected(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, [])
    assert "empty array" in body["detail"]


def test_upload_item_not_object_rejected(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, [QUESTIONS[0], "What is a berth?"])
    assert "Item 2" in body["detail"]
    assert "not a JSON string" in body["detail"]


def test_upload_missing_answer_names_question(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, [QUESTIONS[0], {"question_num": 7, "question": "What is a berth?"}])
    assert "Question 7 (item 2)" in body["detail"]
    assert "missing 'answer'" in body["detail"]


def test_upload_missing_question_num_names_item(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, [QUESTIONS[0], {"question": "What is a berth?", "answer": "A place."}])
    assert "Item 2" in body["detail"]
    assert "missing 'question_num'" in body["detail"]


@pytest.mark.parametrize("number", ["4", 4.5, True, -1, None])
def test_upload_bad_question_num_rejected(client: TestClient, auth: dict[str, str], number: object) -> None:
    body = upload_error(client, auth, [{"question_num": number, "question": "Q?", "answer": "A."}])
    assert f"question_num {json.dumps(number)}" in body["detail"]
    assert "non-negative integer" in body["detail"]


@pytest.mark.parametrize("key", ["question", "answer"])
def test_upload_non_string_field_rejected(client: TestClient, auth: dict[str, str], key: str) -> None:
    item = {"question_num": 5, "question": "Q?", "answer": "A.", key: 42}
    body = upload_error(client, auth, [item])
    assert f"Question 5 (item 1) of benchmark file 'harbor.json' has a {key} of type number" in body["detail"]


def test_upload_blank_question_rejected(client: TestClient, auth: dict[str, str]) -> None:
    body = upload_error(client, auth, [{"question_num": 3, "question": "   ", "answer": "A."}])
    assert "Question 3" in body["detail"]
    assert "empty question" in body["detail"]


def test_upload_duplicate_question_num_rejected(client: TestClient, auth: dict[str, str]) -> None:
    items = [QUESTIONS[0], QUESTIONS[1], {**QUESTIONS[2], "question_num": 2}]
    body = upload_error(client, auth, items)
    assert "Question number 2 appears twice" in body["detail"]
    assert "items 1 and 3" in body["detail"]


def test_upload_oversize_file_is_413(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    settings.max_upload_bytes = 64
    response = upload_benchmark(client, auth)
    assert response.status_code == 413
    assert "64 bytes" in response.json()["detail"]


def test_upload_name_too_long_rejected(client: TestClient, auth: dict[str, str]) -> None:
    response = upload_benchmark(client, auth, name="n" * 201)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_name"


# Create


def test_create_requires_documents(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(f"{BENCHMARK}/create", headers=auth, json={"documents": [], "num_questions": 3})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "documents"]


@pytest.mark.parametrize("count", [0, -2, 1001])
def test_create_num_questions_out_of_range_is_422(client: TestClient, auth: dict[str, str], count: int) -> None:
    response = client.post(f"{BENCHMARK}/create", headers=auth, json={"documents": ["doc_x"], "num_questions": count})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "num_questions"]


def test_create_unknown_document_is_404(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post(
        f"{BENCHMARK}/create", headers=auth, json={"documents": [document_id, "doc_missing"], "num_questions": 3}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "document_not_found"
    assert "doc_missing" in response.json()["detail"]


def test_create_foreign_document_is_404(client: TestClient, auth: dict[str, str], other_auth: dict[str, str]) -> None:
    document_id = upload_document(client, other_auth)
    response = client.post(f"{BENCHMARK}/create", headers=auth, json={"documents": [document_id], "num_questions": 3})
    assert response.status_code == 404
    assert response.json()["code"] == "document_not_found"


def test_create_generates_questions_from_documents(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post(f"{BENCHMARK}/create", headers=auth, json={"documents": [document_id], "num_questions": 4})
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "PROCESSING"
    assert created["id"].startswith("benchmark_")

    status = wait_for(
        lambda: client.get(f"{BENCHMARK}/status/{created['id']}", headers=auth).json(),
        lambda body: body["status"] != "PROCESSING",
    )
    assert status["status"] == "READY", status
    assert status["end_time"] is not None

    data = client.get(f"{BENCHMARK}/{created['id']}/data", headers=auth).json()
    assert data["source"] == "generated"
    assert data["document_ids"] == [document_id]
    assert [item["question_num"] for item in data["questions"]] == [1, 2, 3, 4]
    assert len({item["question"] for item in data["questions"]}) == 4
    document_words = set(normalize_tokens(SAMPLE_TEXT))
    for item in data["questions"]:
        assert set(normalize_tokens(item["answer"])) <= document_words, item


def test_create_is_deterministic(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    questions = []
    for _ in range(2):
        benchmark_id = client.post(
            f"{BENCHMARK}/create", headers=auth, json={"documents": [document_id], "num_questions": 3}
        ).json()["id"]
        wait_for(
            lambda: client.get(f"{BENCHMARK}/status/{benchmark_id}", headers=auth).json(),
            lambda body: body["status"] != "PROCESSING",
        )
        data = client.get(f"{BENCHMARK}/{benchmark_id}/data", headers=auth).json()
        questions.append([(item["question"], item["answer"]) for item in data["questions"]])
    assert questions[0] == questions[1]


def test_benchmark_questions_lists_texts(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    benchmark_id = uploaded_id(client, auth)
    with session_scope(settings) as session:
        texts = benchmark_questions(session, benchmark_id)
    assert texts == [QUESTIONS[1]["question"], QUESTIONS[0]["question"], QUESTIONS[2]["question"]]


def test_create_with_unconfigured_teacher_is_400(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    response = client.post(
        f"{BENCHMARK}/create",
        headers=auth,
        json={"documents": [document_id], "num_questions": 3, "data_generator": "teacher"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "teacher_not_configured"


# Read, list, delete


def test_status_of_uploaded_benchmark(client: TestClient, auth: dict[str, str]) -> None:
    benchmark_id = uploaded_id(client, auth, name="Harbor")
    body = client.get(f"{BENCHMARK}/status/{benchmark_id}", headers=auth).json()
    assert body["id"] == benchmark_id
    assert body["benchmark_name"] == "Harbor"
    assert body["status"] == "READY"
    assert body["start_time"] is not None
    assert body["end_time"] is not None


def test_list_shows_own_benchmarks_newest_first(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    first = uploaded_id(client, auth, name="first")
    second = uploaded_id(client, auth, name="second")
    uploaded_id(client, other_auth, name="foreign")
    body = client.get(f"{BENCHMARK}/list", headers=auth).json()
    assert [item["id"] for item in body["benchmarks"]] == [second, first]
    assert body["benchmarks"][0]["num_questions"] == 3
    assert "questions" not in body["benchmarks"][0]


def test_data_returns_questions(client: TestClient, auth: dict[str, str]) -> None:
    benchmark_id = uploaded_id(client, auth)
    body = client.get(f"{BENCHMARK}/{benchmark_id}/data", headers=auth).json()
    assert body["id"] == benchmark_id
    assert [item["question"] for item in body["questions"]][1] == "How many stern lines are used at pier 4?"


def test_delete_removes_benchmark(client: TestClient, auth: dict[str, str]) -> None:
    benchmark_id = uploaded_id(client, auth)
    response = client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth)
    assert response.status_code == 200
    assert response.json() == {"benchmark_id": benchmark_id, "message": "Benchmark successfully deleted"}
    assert client.get(f"{BENCHMARK}/{benchmark_id}/data", headers=auth).status_code == 404
    assert client.get(f"{BENCHMARK}/list", headers=auth).json()["benchmarks"] == []


def test_second_delete_is_404(client: TestClient, auth: dict[str, str]) -> None:
    benchmark_id = uploaded_id(client, auth)
    client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth)
    response = client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth)
    assert response.status_code == 404
    assert response.json()["code"] == "benchmark_not_found"


def test_delete_while_evaluation_runs_is_400(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    benchmark_id = uploaded_id(client, auth)
    # A PROCESSING evaluation row, as the evaluate route leaves it until its job ends.
    with session_scope(settings) as session:
        owner = session.get(Benchmark, benchmark_id).user_id
        session.add(
            Evaluation(
                id="eval_running",
                user_id=owner,
                model_id="tiny-random-llama",
                benchmark_id=benchmark_id,
                status=EvaluationStatus.PROCESSING,
                total_questions=3,
            )
        )
    response = client.delete(f"{BENCHMARK}/{benchmark_id}", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "benchmark_in_use"
    assert "eval_running" in response.json()["detail"]
    assert client.get(f"{BENCHMARK}/{benchmark_id}/data", headers=auth).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/status/{id}"),
        ("get", "/{id}/data"),
        ("delete", "/{id}"),
    ],
)
def test_foreign_benchmark_is_same_404_as_missing(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str], method: str, path: str
) -> None:
    benchmark_id = uploaded_id(client, other_auth)
    foreign = getattr(client, method)(BENCHMARK + path.format(id=benchmark_id), headers=auth)
    client.delete(f"{BENCHMARK}/{benchmark_id}", headers=other_auth)
    missing = getattr(client, method)(BENCHMARK + path.format(id=benchmark_id), headers=auth)
    assert foreign.status_code == 404
    assert foreign.json() == missing.json()


@pytest.mark.parametrize("weird", ["a:b", "%25", "bénchmark_ü", "x" * 500, "%00", "..", "benchmark_%20"])
def test_weird_ids_are_404(client: TestClient, auth: dict[str, str], weird: str) -> None:
    for method, path in (("get", f"/status/{weird}"), ("get", f"/{weird}/data"), ("delete", f"/{weird}")):
        response = getattr(client, method)(BENCHMARK + quote(path, safe="/%"), headers=auth)
        assert response.status_code == 404, (method, path, response.text)


def test_routes_need_key(client: TestClient) -> None:
    assert client.get(f"{BENCHMARK}/list").status_code == 401
