"""Offline answer metrics: accuracy, uncertainty and domain violations.

An answer's score is ``w * semantic_similarity + (1 - w) * token_f1``, and the answer is
correct when the score reaches the accuracy threshold. Semantic similarity is the cosine
similarity of sentence embeddings, token F1 the overlap of normalized words, as in the
SQuAD evaluation script. A domain violation is an answer whose best cosine similarity to
any chunk of the source documents stays under the domain threshold.
"""

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alignd.evaluations.embeddings import Embedder

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class AnswerScore:
    semantic_similarity: float
    token_f1: float
    score: float
    correct: bool


def normalize_tokens(text: str) -> list[str]:
    """Lower-case, drop punctuation and English articles, split on white space."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    without_punctuation = "".join(
        " " if char in string.punctuation or unicodedata.category(char).startswith("P") else char
        for char in lowered
    )
    return _ARTICLES.sub(" ", without_punctuation).split()


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of word precision and recall; 1.0 when both texts have no words."""
    predicted = normalize_tokens(prediction)
    expected = normalize_tokens(reference)
    if not predicted or not expected:
        return float(predicted == expected)
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted)
    recall = overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def semantic_similarities(embedder: Embedder, predictions: Sequence[str], references: Sequence[str]) -> list[float]:
    """Cosine similarity of each prediction with its reference; an empty prediction gets 0.0."""
    if len(predictions) != len(references):
        raise ValueError(f"Got {len(predictions)} predictions for {len(references)} references.")
    predicted = embedder.encode(list(predictions))
    expected = embedder.encode(list(references))
    similarities = np.sum(predicted * expected, axis=1) if len(predictions) else np.zeros(0)
    return [
        0.0 if not prediction.strip() else float(np.clip(value, -1.0, 1.0))
        for prediction, value in zip(predictions, similarities, strict=True)
    ]


def combine(similarity: float, f1: float, *, similarity_weight: float, threshold: float) -> AnswerScore:
    score = similarity_weight * similarity + (1.0 - similarity_weight) * f1
    return AnswerScore(semantic_similarity=similarity, token_f1=f1, score=score, correct=score >= threshold)


def score_answers(
    embedder: Embedder,
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    similarity_weight: float,
    threshold: float,
) -> list[AnswerScore]:
    similarities = semantic_similarities(embedder, predictions, references)
    return [
        combine(similarity, token_f1(prediction, reference), similarity_weight=similarity_weight, threshold=threshold)
        for similarity, prediction, reference in zip(similarities, predictions, references, strict=True)
    ]


def accuracy(
    embedder: Embedder,
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    similarity_weight: float,
    threshold: float,
) -> float:
    """Fraction of predictions whose combined score reaches ``threshold``."""
    scores = score_answers(embedder, predictions, references, similarity_weight=similarity_weight, threshold=threshold)
    return _mean([float(score.correct) for score in scores])


def uncertainty(mean_entropies: Sequence[float]) -> float:
    """Mean over answers of the mean next-token entropy, in nats; 0.0 for no answers."""
    return _mean(list(mean_entropies))


def grounding_similarities(embedder: Embedder, answers: Sequence[str], chunk_vectors: np.ndarray) -> list[float]:
    """Best cosine similarity of each answer to any chunk; 0.0 for an empty answer or no chunks."""
    if not answers:
        return []
    if chunk_vectors.shape[0] == 0:
        return [0.0] * len(answers)
    answer_vectors = embedder.encode(list(answers))
    best = (answer_vectors @ chunk_vectors.T).max(axis=1)
    return [0.0 if not answer.strip() else float(value) for answer, value in zip(answers, best, strict=True)]


def grounding_units(documents: Sequence[str], *, max_chunk_chars: int = 800) -> list[str]:
    """Split document texts into paragraph chunks of up to ``max_chunk_chars`` plus their single sentences.

    Sentences are included because the embedding of a long chunk blurs any one fact in it,
    which would make a short, correct answer look ungrounded.
    """
    units: list[str] = []
    seen: set[str] = set()
    for text in documents:
        for chunk in _paragraph_chunks(text, max_chunk_chars):
            for unit in [chunk, *_SENTENCE_END.split(chunk)]:
                unit = unit.strip()
                if unit and unit not in seen:
                    seen.add(unit)
                    units.append(unit)
    return units


def domain_violations(
    embedder: Embedder, answers: Sequence[str], documents: Sequence[str], *, threshold: float
) -> float:
    """Fraction of answers whose best similarity to the documents is under ``threshold``.

    An empty answer counts as a violation because nothing in it is grounded.
    """
    chunk_vectors = embedder.encode(grounding_units(documents))
    similarities = grounding_similarities(embedder, answers, chunk_vectors)
    return _mean([float(similarity < threshold) for similarity in similarities])


def _paragraph_chunks(text: str, max_chars: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if current and len(current) + 1 + len(paragraph) > max_chars:
            chunks.append(current)
            current = ""
        current = f"{current} {paragraph}".strip()
        while len(current) > max_chars:
            cut = current.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            chunks.append(current[:cut])
            current = current[cut:].strip()
    if current:
        chunks.append(current)
    return chunks


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0
