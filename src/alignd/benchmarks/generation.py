"""Question and reference answer generation for benchmarks, with the training data generators."""

import re
from dataclasses import dataclass

from alignd.config import Settings
from alignd.training.chunking import chunk_document
from alignd.training.generators import QAPair, build_generator
from alignd.training.pipeline import SourceDocument

# Chunk size in words. Benchmarks need no model tokenizer, so words stand in for tokens.
CHUNK_WORDS = 200
# Patterns whose questions make good test questions come first; a heading summary is a last resort.
_SOURCE_ORDER = {"faq": 0, "teacher": 0, "definition": 1, "rule": 2, "key_sentence": 3, "heading": 4}


@dataclass(frozen=True)
class GeneratedQuestion:
    question: str
    answer: str
    document_id: str


def generate_questions(
    settings: Settings, documents: list[SourceDocument], count: int, generator_name: str = "extractive"
) -> list[GeneratedQuestion]:
    """Return up to ``count`` distinct questions, taken in turn from each document so all are covered.

    Within a document the best pattern of each chunk comes first, so the questions spread over
    its sections. The same documents always give the same questions with the extractive generator.
    """
    generator = build_generator(settings, generator_name)
    try:
        per_document = [_document_questions(generator, document) for document in documents]
    finally:
        generator.close()

    selected: list[GeneratedQuestion] = []
    seen: set[str] = set()
    position = 0
    while len(selected) < count and any(position < len(items) for items in per_document):
        for items in per_document:
            if position >= len(items) or len(selected) >= count:
                continue
            item = items[position]
            key = _normalise(item.question)
            if key not in seen:
                seen.add(key)
                selected.append(item)
        position += 1
    return selected


def _document_questions(generator, document: SourceDocument) -> list[GeneratedQuestion]:  # type: ignore[no-untyped-def]
    """Order a document's pairs: the best pair of every chunk first, then the second best, and so on."""
    chunk_pairs: list[list[QAPair]] = []
    for chunk in chunk_document(document.id, document.text, _count_words, CHUNK_WORDS):
        pairs = [pair for pair in generator.generate(chunk, document.filename) if pair.question and pair.answer]
        chunk_pairs.append(sorted(pairs, key=lambda pair: _SOURCE_ORDER.get(pair.source, 3)))

    ordered: list[GeneratedQuestion] = []
    rank = 0
    while any(rank < len(pairs) for pairs in chunk_pairs):
        for pairs in chunk_pairs:
            if rank < len(pairs):
                ordered.append(GeneratedQuestion(pairs[rank].question, pairs[rank].answer, document.id))
        rank += 1
    return ordered


def _count_words(text: str) -> int:
    return len(text.split())


def _normalise(question: str) -> str:
    return re.sub(r"\W+", " ", question.lower()).strip()
