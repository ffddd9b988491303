"""Training data: chunking, the extractive and teacher generators, the JSONL dataset, hyperparameters."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from alignd.catalog import tiny
from alignd.config import Settings
from alignd.training.chunking import chunk_document, split_blocks
from alignd.training.dataset import Example, pair_examples, read_dataset, split_validation, text_example, write_dataset
from alignd.training.defaults import HyperparameterConflict, choose_hyperparameters, settle_max_steps
from alignd.training.extractive import ExtractiveGenerator
from alignd.training.generators import QAPair, TeacherNotConfigured, UnknownGenerator, build_generator, check_generator
from alignd.training.hyperparameters import Hyperparameters
from alignd.training.packing import pack
from alignd.training.teacher import TeacherFailed, parse_pairs
from teacher_server import run_teacher

POLICY = """# Travel Policy

Employees book travel through the approved agency. Economy class is used for flights shorter than six hours.

## Expenses

Receipts must be attached to every claim. Claims older than ninety days are not accepted.

A per diem is a fixed daily amount that covers meals and local transport.

Reimbursement
=============

1. Submit the claim in the expense system.
2. Your manager approves it within five working days.
2.1 Claims above 500 euros also need the approval of finance.

Glossary
--------

Per diem: a fixed daily allowance for meals.

How long does reimbursement take? Payment follows within ten days of approval.
"""


@pytest.fixture(scope="module")
def count_tokens():  # type: ignore[no-untyped-def]
    tokenizer = tiny.load_tokenizer()
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_split_blocks_headings_and_clauses() -> None:
    blocks = split_blocks(POLICY)
    headings = [(block.text, block.level) for block in blocks if block.kind == "heading"]
    assert headings == [("Travel Policy", 1), ("Expenses", 2), ("Reimbursement", 1), ("Glossary", 2)]
    clauses = [block.text for block in blocks if block.kind == "clause"]
    assert clauses[:3] == [
        "1. Submit the claim in the expense system.",
        "2. Your manager approves it within five working days.",
        "2.1 Claims above 500 euros also need the approval of finance.",
    ]
    assert "Per diem: a fixed daily allowance for meals." in clauses


def test_chunks_never_cross_headings(count_tokens) -> None:  # type: ignore[no-untyped-def]
    chunks = chunk_document("doc_1", POLICY, count_tokens, max_tokens=200)
    assert [chunk.headings for chunk in chunks] == [
        ["Travel Policy"],
        ["Travel Policy", "Expenses"],
        ["Reimbursement"],
        ["Reimbursement", "Glossary"],
    ]
    assert "Receipts must be attached" in chunks[1].text
    assert "Employees book travel" not in chunks[1].text


def test_chunks_respect_token_budget(count_tokens) -> None:  # type: ignore[no-untyped-def]
    sentences = [f"Sentence number {index} explains one more rule of the handbook." for index in range(80)]
    text = "# Long\n\n" + " ".join(sentences)
    chunks = chunk_document("doc_1", text, count_tokens, max_tokens=64)
    assert len(chunks) > 5
    assert all(count_tokens(chunk.text) <= 64 + len(chunk.units) for chunk in chunks)
    assert [chunk.section_part for chunk in chunks] == list(range(len(chunks)))


def test_chunks_split_overlong_sentence(count_tokens) -> None:  # type: ignore[no-untyped-def]
    text = "word " * 400
    chunks = chunk_document("doc_1", text, count_tokens, max_tokens=50)
    assert len(chunks) >= 8
    assert all(chunk.token_count <= 50 for chunk in chunks)
    assert sum(len(chunk.text.split()) for chunk in chunks) == 400


def test_chunks_of_empty_document(count_tokens) -> None:  # type: ignore[no-untyped-def]
    assert chunk_document("doc_1", "\n\n   \n", count_tokens, max_tokens=50) == []


def _pairs(count_tokens) -> list[QAPair]:  # type: ignore[no-untyped-def]
    generator = ExtractiveGenerator()
    chunks = chunk_document("doc_1", POLICY, count_tokens, 200)
    return [pair for chunk in chunks for pair in generator.generate(chunk, "travel.md")]


def test_extractive_is_deterministic(count_tokens) -> None:  # type: ignore[no-untyped-def]
    assert _pairs(count_tokens) == _pairs(count_tokens)


def test_extractive_answers_come_from_document(count_tokens) -> None:  # type: ignore[no-untyped-def]
    flat_policy = " ".join(POLICY.split())
    for pair in _pairs(count_tokens):
        assert " ".join(pair.answer.split()) in flat_policy, pair


def test_extractive_pattern_questions(count_tokens) -> None:  # type: ignore[no-untyped-def]
    questions = {pair.question: pair for pair in _pairs(count_tokens)}
    assert questions['What is meant by "per diem"?'].source == "definition"
    assert questions['What does "Per diem" mean?'].answer == "Per diem: a fixed daily allowance for meals."
    assert questions['What does item 2.1 of the section "Reimbursement" state?'].answer.startswith("Claims above 500")
    assert questions["How long does reimbursement take?"].answer == "Payment follows within ten days of approval."
    assert questions['What does the section "Expenses" of "travel.md" say?'].source == "heading"
    assert questions['What is the rule on receipts in the section "Expenses"?'].source == "key_sentence"


def test_extractive_question_not_definition(count_tokens) -> None:  # type: ignore[no-untyped-def]
    chunk = chunk_document("doc_1", "How much is the berth fee? The fee is 2 euros per meter.", count_tokens, 200)[0]
    questions = {pair.question: pair for pair in ExtractiveGenerator().generate(chunk, "harbor.md")}
    assert questions["How much is the berth fee?"].source == "faq"
    assert 'What is meant by "how much"?' not in questions


def test_teacher_generator_pairs(settings: Settings, count_tokens) -> None:  # type: ignore[no-untyped-def]
    chunk = chunk_document("doc_1", POLICY, count_tokens, 200)[1]
    with run_teacher() as (url, log):
        teacher = {"teacher_url": url, "teacher_model": "teacher-1", "teacher_api_key": "sk-test"}
        teacher_settings = settings.model_copy(update=teacher)
        generator = build_generator(teacher_settings, "teacher")
        pairs = generator.generate(chunk, "travel.md")
        generator.close()
    assert [pair.answer for pair in pairs] == ["Receipts must be attached to every claim."]
    assert pairs[0].source == "teacher"
    assert log.requests[0]["model"] == "teacher-1"
    assert log.authorization == ["Bearer sk-test"]
    assert "Section: Travel Policy > Expenses" in log.requests[0]["messages"][-1]["content"]


def test_teacher_retries_unavailable(settings: Settings, count_tokens) -> None:  # type: ignore[no-untyped-def]
    chunk = chunk_document("doc_1", POLICY, count_tokens, 200)[0]
    with run_teacher(fail_first=1) as (url, log):
        generator = build_generator(settings.model_copy(update={"teacher_url": url, "teacher_model": "t"}), "teacher")
        pairs = generator.generate(chunk, "travel.md")
        generator.close()
    assert len(log.requests) == 2
    assert len(pairs) == 1


def test_teacher_error_status_fails(settings: Settings, count_tokens) -> None:  # type: ignore[no-untyped-def]
    chunk = chunk_document("doc_1", POLICY, count_tokens, 200)[0]
    with run_teacher(status=401) as (url, log):
        generator = build_generator(settings.model_copy(update={"teacher_url": url, "teacher_model": "t"}), "teacher")
        with pytest.raises(TeacherFailed, match="HTTP 401"):
            generator.generate(chunk, "travel.md")
        generator.close()
    assert len(log.requests) == 1


def test_teacher_unreachable_fails(settings: Settings, count_tokens) -> None:  # type: ignore[no-untyped-def]
    chunk = chunk_document("doc_1", POLICY, count_tokens, 200)[0]
    with run_teacher() as (url, _log):
        pass
    generator = build_generator(settings.model_copy(update={"teacher_url": url, "teacher_model": "t"}), "teacher")
    with pytest.raises(TeacherFailed, match="cannot reach"):
        generator.generate(chunk, "travel.md")


def test_teacher_not_configured_rejected(settings: Settings) -> None:
    with pytest.raises(TeacherNotConfigured) as caught:
        check_generator(settings, "teacher")
    assert caught.value.status_code == 400
    assert "ALIGND_TEACHER_URL" in caught.value.detail


def test_unknown_generator_rejected(settings: Settings) -> None:
    with pytest.raises(UnknownGenerator, match="'magic'"):
        check_generator(settings, "magic")


def test_parse_pairs_accepts_bare_list() -> None:
    pairs = parse_pairs('[{"question": "Q?", "answer": "A."}, {"question": "", "answer": "dropped"}]')
    assert [(pair.question, pair.answer) for pair in pairs] == [("Q?", "A.")]


def test_parse_pairs_ignores_prose() -> None:
    assert parse_pairs("I cannot help with that.") == []


def _examples(count_tokens, exclude: list[str] | None = None) -> list[Example]:  # type: ignore[no-untyped-def]
    generator = ExtractiveGenerator()
    examples: list[Example] = []
    seen: set[str] = set()
    for chunk in chunk_document("doc_1", POLICY, count_tokens, 200):
        examples += pair_examples(chunk, generator.generate(chunk, "travel.md"), exclude or [], seen)
        examples.append(text_example(chunk, "travel.md"))
    return examples


def test_benchmark_questions_excluded(count_tokens) -> None:  # type: ignore[no-untyped-def]
    examples = _examples(count_tokens, exclude=["how long does REIMBURSEMENT take"])
    questions = [example.messages[0]["content"] for example in examples if example.messages]
    assert "How long does reimbursement take?" not in questions
    assert 'What is meant by "per diem"?' in questions


def test_validation_split_holds_out_both_kinds(count_tokens) -> None:  # type: ignore[no-untyped-def]
    examples = _examples(count_tokens)
    train, validation, held_out = split_validation(examples, seed=42)
    assert held_out
    assert len(train) + len(validation) == len(examples)
    assert {example.kind for example in validation} == {"pair", "text"}
    assert not {example.id for example in train} & {example.id for example in validation}


def test_validation_split_is_seeded(count_tokens) -> None:  # type: ignore[no-untyped-def]
    first = [example.id for example in split_validation(_examples(count_tokens), seed=7)[1]]
    second = [example.id for example in split_validation(_examples(count_tokens), seed=7)[1]]
    assert first == second


def test_dataset_written_and_paged(tmp_path: Path, count_tokens) -> None:  # type: ignore[no-untyped-def]
    examples = _examples(count_tokens)
    split_validation(examples, seed=42)
    path = write_dataset(tmp_path, examples)

    records, total = read_dataset(path, limit=3, offset=2)
    assert total == len(examples)
    assert [record["id"] for record in records] == ["ex_000003", "ex_000004", "ex_000005"]
    first = read_dataset(path, limit=1, offset=0)[0][0]
    assert set(first) == {"id", "kind", "document_id", "chunk_index", "source", "split", "messages"}
    validation, validation_total = read_dataset(tmp_path / "validation.jsonl", limit=100, offset=0)
    assert validation_total == sum(example.split == "validation" for example in examples)
    assert all(record["split"] == "validation" for record in validation)


def test_read_dataset_offset_past_end(tmp_path: Path, count_tokens) -> None:  # type: ignore[no-untyped-def]
    path = write_dataset(tmp_path, _examples(count_tokens))
    records, total = read_dataset(path, limit=10, offset=10_000)
    assert records == []
    assert total > 0


def test_pack_fills_blocks_without_padding() -> None:
    blocks = pack([[1, 2, 3], [4, 5], [6, 7, 8, 9]], block_size=4, seed=0)
    assert all(len(block) == 4 for block in blocks)
    assert len(blocks) == 3
    assert set(range(1, 10)) <= {token for block in blocks for token in block}


def test_pack_short_stream_one_block() -> None:
    assert pack([[1, 2], [3]], block_size=16, seed=0)[0] in ([1, 2, 3], [3, 1, 2])


def test_default_hyperparameters_small_cpu() -> None:
    chosen = choose_hyperparameters({}, document_tokens=3_000, device="cpu", context_length=8192)
    assert chosen == {
        "epochs": 5, "learning_rate": 2e-4, "lora_r": 8, "lora_alpha": 16,
        "batch_size": 4, "max_seq_length": 256, "seed": 42,
    }


def test_default_hyperparameters_large_cuda() -> None:
    chosen = choose_hyperparameters({}, document_tokens=2_000_000, device="cuda", context_length=8192)
    assert (chosen["epochs"], chosen["lora_r"], chosen["batch_size"], chosen["max_seq_length"]) == (1, 16, 16, 1024)


def test_user_hyperparameters_win() -> None:
    chosen = choose_hyperparameters({"lora_r": 4, "seed": 1, "epochs": None}, 3_000, "cpu", 1024)
    assert chosen["lora_r"] == 4
    assert chosen["lora_alpha"] == 8
    assert chosen["seed"] == 1
    assert chosen["epochs"] == 5


def test_max_seq_length_above_context_rejected() -> None:
    with pytest.raises(HyperparameterConflict, match="max_seq_length 2048 .* context length 1024"):
        choose_hyperparameters({"max_seq_length": 2048}, 3_000, "cpu", 1024)


def test_max_steps_from_blocks_and_epochs() -> None:
    chosen = choose_hyperparameters({}, 3_000, "cpu", 1024)
    assert settle_max_steps(chosen, {}, train_blocks=10, device="cpu")["max_steps"] == 15
    assert settle_max_steps(chosen, {"max_steps": 2}, train_blocks=10, device="cpu").get("max_steps") is None


def test_default_max_steps_capped_on_cpu() -> None:
    chosen = choose_hyperparameters({}, 3_000, "cpu", 1024)
    assert settle_max_steps(chosen, {}, train_blocks=10_000, device="cpu")["max_steps"] == 300
    with_epochs = {**chosen, "epochs": 2}
    assert settle_max_steps(with_epochs, {"epochs": 2}, train_blocks=10_000, device="cpu")["max_steps"] == 5000


@pytest.mark.parametrize(
    ("field", "value"),
    [("learning_rate", 5), ("lora_r", 0), ("epochs", 101), ("max_seq_length", 8), ("seed", -1), ("batch_size", "big")],
)
def test_hyperparameters_invalid_value_named(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Hyperparameters(**{field: value})
    error = caught.value.errors()[0]
    assert error["loc"] == (field,)
    assert error["input"] == value


def test_hyperparameters_unknown_field_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        Hyperparameters(dropout=0.1)
    assert caught.value.errors()[0]["loc"] == ("dropout",)
