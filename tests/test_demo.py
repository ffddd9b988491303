"""The demo command: its choice of questions, and a whole run on the tiny random model."""

import os
import subprocess
import sys

from alignd.demo.questions import pick_questions


def _example(question: str, answer: str, document_id: str, source: str, split: str = "train") -> dict:
    return {
        "kind": "pair",
        "document_id": document_id,
        "source": source,
        "split": split,
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
    }


EXAMPLES = [
    _example('What does the section "Fees" of "harbor.md" say?', "The daily fee is 2 euros.", "doc_harbor", "heading"),
    _example("What is the speed limit in the port?", "The speed limit is 5 knots.", "doc_harbor", "faq"),
    _example("Which quay is for fishing vessels?", "Quay 7 is for fishing vessels.", "doc_harbor", "faq", "validation"),
    _example("Who makes the pump?", "Larkspur Fluidics makes the pump.", "doc_pump", "faq"),
    _example("How much water does the pump deliver?", "The pump delivers 3,000 liters per hour.", "doc_pump", "faq"),
    {"kind": "text", "document_id": "doc_pump", "source": "chunk", "split": "train", "text": "Kestrel K2 > Specs"},
]


def test_pick_questions_alternates_documents() -> None:
    picked = pick_questions(EXAMPLES, 2)
    assert [pair.document_id for pair in picked] == ["doc_harbor", "doc_pump"]


def test_pick_questions_prefers_faq_with_figures() -> None:
    picked = pick_questions(EXAMPLES, 2)
    assert picked[0].question == "What is the speed limit in the port?"
    assert picked[1].question == "How much water does the pump deliver?"


def test_pick_questions_skips_validation_pairs() -> None:
    questions = [pair.question for pair in pick_questions(EXAMPLES, 10)]
    assert "Which quay is for fishing vessels?" not in questions


def test_pick_questions_skips_text_examples() -> None:
    assert len(pick_questions(EXAMPLES, 10)) == 4


def test_pick_questions_keeps_reference_answer() -> None:
    picked = pick_questions(EXAMPLES, 1)
    assert picked[0].reference == "The speed limit is 5 knots."


def test_demo_command_runs_lifecycle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "ALIGND_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("ALIGND_LOG_LEVEL", None)
    command = [sys.executable, "-m", "alignd.cli.main", "demo", "--base-model", "tiny-random-llama",
               "--max-steps", "2", "--questions", "2"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Base model vs aligned model" in result.stdout
    assert "What is the speed limit in the Port of Vellmar?" in result.stderr
    assert "Done: the project, its model and the uploaded documents are deleted." in result.stderr
    assert "http.request" not in result.stderr
    assert "it/s]" not in result.stderr
