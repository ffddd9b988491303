"""Offline evaluation metrics on hand-made answers with known outcomes."""

import pytest

from alignd.config import Settings
from alignd.evaluations.embeddings import Embedder, load_embedder
from alignd.evaluations.metrics import (
    accuracy,
    domain_violations,
    grounding_units,
    normalize_tokens,
    score_answers,
    token_f1,
    uncertainty,
)

REFERENCE = "The warranty covers parts and labour for two years."
PARAPHRASE = "Parts and labor are covered under warranty for 2 years."
UNRELATED = "Bananas are a good source of potassium."

MANUAL = """# Zephyr 3000 espresso machine

The Zephyr 3000 espresso machine ships with a two-year warranty that covers parts and labour.
Descale the boiler every month with the supplied citric acid powder.

To reset the Zephyr 3000, hold the steam button for ten seconds until the light blinks twice.
The water tank holds 1.8 litres.
"""

DEFAULTS = Settings()
WEIGHT = DEFAULTS.eval_similarity_weight
THRESHOLD = DEFAULTS.eval_accuracy_threshold
DOMAIN_THRESHOLD = DEFAULTS.eval_domain_threshold


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder("cpu")


def test_token_f1_identical_is_one() -> None:
    assert token_f1(REFERENCE, REFERENCE) == 1.0


def test_token_f1_ignores_case_punctuation_and_articles() -> None:
    assert token_f1("the WARRANTY, covers parts!", "Warranty covers parts") == 1.0


def test_token_f1_disjoint_is_zero() -> None:
    assert token_f1(UNRELATED, REFERENCE) == 0.0


def test_token_f1_partial_overlap() -> None:
    # 2 shared words of 3 predicted and 4 expected: precision 2/3, recall 1/2.
    assert token_f1("red green blue", "red green yellow white") == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_token_f1_empty_prediction_is_zero() -> None:
    assert token_f1("", REFERENCE) == 0.0


def test_normalize_tokens_drops_unicode_punctuation() -> None:
    assert normalize_tokens("«Hello» — world…") == ["hello", "world"]


def test_identical_answer_is_correct(embedder: Embedder) -> None:
    [score] = score_answers(embedder, [REFERENCE], [REFERENCE], similarity_weight=WEIGHT, threshold=THRESHOLD)
    assert score.semantic_similarity == pytest.approx(1.0, abs=1e-4)
    assert score.token_f1 == 1.0
    assert score.correct


def test_paraphrase_is_correct(embedder: Embedder) -> None:
    [score] = score_answers(embedder, [PARAPHRASE], [REFERENCE], similarity_weight=WEIGHT, threshold=THRESHOLD)
    assert score.semantic_similarity > 0.8
    assert score.token_f1 < 0.7
    assert score.correct


def test_unrelated_answer_is_wrong(embedder: Embedder) -> None:
    [score] = score_answers(embedder, [UNRELATED], [REFERENCE], similarity_weight=WEIGHT, threshold=THRESHOLD)
    assert score.semantic_similarity < 0.3
    assert not score.correct


def test_contradicting_answer_is_wrong(embedder: Embedder) -> None:
    [score] = score_answers(
        embedder, ["The warranty covers nothing."], [REFERENCE], similarity_weight=WEIGHT, threshold=THRESHOLD
    )
    assert not score.correct


def test_empty_answer_is_wrong(embedder: Embedder) -> None:
    [score] = score_answers(embedder, [""], [REFERENCE], similarity_weight=WEIGHT, threshold=THRESHOLD)
    assert score.semantic_similarity == 0.0
    assert not score.correct


def test_accuracy_counts_correct_fraction(embedder: Embedder) -> None:
    value = accuracy(
        embedder,
        [REFERENCE, PARAPHRASE, UNRELATED, ""],
        [REFERENCE] * 4,
        similarity_weight=WEIGHT,
        threshold=THRESHOLD,
    )
    assert value == 0.5


def test_accuracy_of_no_answers_is_zero(embedder: Embedder) -> None:
    assert accuracy(embedder, [], [], similarity_weight=WEIGHT, threshold=THRESHOLD) == 0.0


def test_accuracy_rejects_length_mismatch(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        accuracy(embedder, ["a", "b"], ["a"], similarity_weight=WEIGHT, threshold=THRESHOLD)


def test_uncertainty_is_mean_entropy() -> None:
    assert uncertainty([0.5, 1.5, 4.0]) == pytest.approx(2.0)


def test_uncertainty_of_no_answers_is_zero() -> None:
    assert uncertainty([]) == 0.0


def test_grounded_answers_are_no_violation(embedder: Embedder) -> None:
    answers = ["The warranty covers parts and labour for two years.", "Use citric acid every month."]
    assert domain_violations(embedder, answers, [MANUAL], threshold=DOMAIN_THRESHOLD) == 0.0


def test_ungrounded_answer_is_violation(embedder: Embedder) -> None:
    answers = ["The French Revolution began in 1789."]
    assert domain_violations(embedder, answers, [MANUAL], threshold=DOMAIN_THRESHOLD) == 1.0


def test_domain_violations_is_fraction(embedder: Embedder) -> None:
    answers = ["Hold the steam button for ten seconds.", UNRELATED, "The tank holds about two litres of water.", ""]
    assert domain_violations(embedder, answers, [MANUAL], threshold=DOMAIN_THRESHOLD) == 0.5


def test_domain_violations_without_documents_counts_all(embedder: Embedder) -> None:
    assert domain_violations(embedder, [REFERENCE], [], threshold=DOMAIN_THRESHOLD) == 1.0


def test_grounding_units_hold_chunks_and_sentences() -> None:
    units = grounding_units([MANUAL])
    assert "The water tank holds 1.8 litres." in units
    assert any("Descale the boiler" in unit and "warranty" in unit for unit in units)


def test_grounding_units_split_long_paragraphs() -> None:
    units = grounding_units(["word " * 1000], max_chunk_chars=100)
    assert max(len(unit) for unit in units) <= 100
