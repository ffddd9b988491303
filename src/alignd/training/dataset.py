"""Training examples: grounded question-answer pairs plus raw chunk text, written as JSONL.

``dataset.jsonl`` contains every example with its ``split`` ("train" or "validation").
``validation.jsonl`` repeats the held-out examples that the validation loss is measured on.
"""

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alignd.training.chunking import Chunk
from alignd.training.generators import QAPair

DATASET_FILE = "dataset.jsonl"
VALIDATION_FILE = "validation.jsonl"
VALIDATION_FRACTION = 0.1
MAX_VALIDATION_EXAMPLES = 200
# Below this many examples nothing is held out: the validation loss is measured on the training examples.
MIN_EXAMPLES_TO_HOLD_OUT = 5


@dataclass
class Example:
    id: str
    kind: str  # "pair" (chat messages) or "text" (continued training on document text)
    document_id: str
    chunk_index: int
    source: str  # the generator pattern for pairs, "chunk" for text
    messages: list[dict[str, str]] | None = None
    text: str | None = None
    split: str = "train"

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        if self.kind == "pair":
            record.pop("text")
        else:
            record.pop("messages")
        return record


def _normalise(question: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", question.lower()))


def _is_excluded(question: str, excluded: set[str], excluded_words: list[set[str]]) -> bool:
    normalised = _normalise(question)
    if normalised in excluded:
        return True
    words = set(normalised.split())
    # Near-copies of a benchmark question count too, so evaluation never scores a memorised question.
    return any(words and len(words & other) / len(words | other) >= 0.8 for other in excluded_words)


def pair_examples(chunk: Chunk, pairs: list[QAPair], exclude_questions: list[str], seen: set[str]) -> list[Example]:
    """Turn pairs into examples, dropping repeated questions and questions of the project's benchmark."""
    excluded = {_normalise(question) for question in exclude_questions}
    excluded_words = [set(question.split()) for question in excluded]
    examples = []
    for pair in pairs:
        key = _normalise(pair.question)
        if key in seen or _is_excluded(pair.question, excluded, excluded_words):
            continue
        seen.add(key)
        examples.append(
            Example(
                id="",
                kind="pair",
                document_id=chunk.document_id,
                chunk_index=chunk.index,
                source=pair.source,
                messages=[{"role": "user", "content": pair.question}, {"role": "assistant", "content": pair.answer}],
            )
        )
    return examples


def text_example(chunk: Chunk, title: str) -> Example:
    where = " > ".join([title, *chunk.headings])
    return Example(
        id="",
        kind="text",
        document_id=chunk.document_id,
        chunk_index=chunk.index,
        source="chunk",
        text=f"{where}\n\n{chunk.text}",
    )


def split_validation(examples: list[Example], seed: int) -> tuple[list[Example], list[Example], bool]:
    """Mark a seeded random slice of each kind as validation; return (train, validation, held_out).

    With fewer than MIN_EXAMPLES_TO_HOLD_OUT examples, every example trains and validation
    reuses them all (``held_out`` is False).
    """
    for position, example in enumerate(examples, start=1):
        example.id = f"ex_{position:06d}"
    if len(examples) < MIN_EXAMPLES_TO_HOLD_OUT:
        return list(examples), list(examples), False

    rng = random.Random(seed)
    target = max(1, min(MAX_VALIDATION_EXAMPLES, round(len(examples) * VALIDATION_FRACTION)))
    for kind in ("pair", "text"):
        of_kind = [example for example in examples if example.kind == kind]
        share = round(target * len(of_kind) / len(examples))
        for example in rng.sample(of_kind, min(len(of_kind) - 1, max(share, 1 if of_kind else 0))):
            example.split = "validation"
    train = [example for example in examples if example.split == "train"]
    validation = [example for example in examples if example.split == "validation"]
    return train, validation, True


def write_dataset(output_dir: Path, examples: list[Example]) -> Path:
    """Write dataset.jsonl and validation.jsonl atomically; return the dataset path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, selected in (
        (DATASET_FILE, examples),
        (VALIDATION_FILE, [example for example in examples if example.split == "validation"]),
    ):
        temp_path = output_dir / f".{name}.tmp"
        with temp_path.open("w", encoding="utf-8") as handle:
            for example in selected:
                handle.write(json.dumps(example.to_record(), ensure_ascii=False) + "\n")
        temp_path.replace(output_dir / name)
    return output_dir / DATASET_FILE


def read_dataset(path: Path, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Return ``limit`` records starting at ``offset`` and the total number of records in the file.

    Raises FileNotFoundError when the file does not exist (the project has not prepared its data yet).
    """
    records: list[dict[str, Any]] = []
    total = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            if offset <= total < offset + limit:
                records.append(json.loads(line))
            total += 1
    return records, total
