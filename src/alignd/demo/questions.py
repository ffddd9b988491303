"""Pick the demo's questions from a project's training pairs.

The demo checks whether the aligned model learned facts from the documents. It therefore takes
questions from the training split, prefers natural ones (FAQ questions found in the text, then
definitions) with short answers that contain a figure or a code, and spreads them over the documents.
"""

import re
from dataclasses import dataclass
from typing import Any

# Pair sources, most natural questions first: the teacher and the extractive generator's patterns.
# Unknown sources rank last.
SOURCE_PREFERENCE = ("faq", "teacher", "definition", "rule", "key_sentence", "heading")
SHORT_ANSWER_CHARS = 120
_FIGURE = re.compile(r"\d")


@dataclass
class QuestionPair:
    question: str
    reference: str
    document_id: str
    source: str


def _pair(example: dict[str, Any]) -> QuestionPair | None:
    messages = example.get("messages") or []
    question = next((m["content"] for m in messages if m.get("role") == "user"), None)
    answer = next((m["content"] for m in messages if m.get("role") == "assistant"), None)
    if not question or not answer:
        return None
    return QuestionPair(question, answer, example.get("document_id", ""), example.get("source", ""))


def _rank(pair: QuestionPair) -> tuple[int, bool, bool]:
    source_rank = SOURCE_PREFERENCE.index(pair.source) if pair.source in SOURCE_PREFERENCE else len(SOURCE_PREFERENCE)
    return source_rank, len(pair.reference) > SHORT_ANSWER_CHARS, _FIGURE.search(pair.reference) is None


def pick_questions(examples: list[dict[str, Any]], count: int) -> list[QuestionPair]:
    """Return up to ``count`` training pairs, best ranked first, taken from each document in turn.

    Validation pairs are left out because the demo shows what training taught the model.
    Ties keep the dataset order, so the same dataset always gives the same questions.
    """
    pairs = [pair for example in examples if example.get("split", "train") == "train" if (pair := _pair(example))]
    by_document: dict[str, list[QuestionPair]] = {}
    for pair in sorted(pairs, key=_rank):
        by_document.setdefault(pair.document_id, []).append(pair)

    picked: list[QuestionPair] = []
    queues = list(by_document.values())
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked
