"""Reading an uploaded benchmark file: a JSON array of ``{question_num, question, answer}`` objects."""

import json
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile

from alignd.errors import BadRequest, PayloadTooLarge

# Largest number of questions one uploaded benchmark may hold.
MAX_UPLOADED_QUESTIONS = 10_000
_READ_CHUNK_BYTES = 1024 * 1024
_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class InvalidBenchmarkFile(BadRequest):
    code = "invalid_benchmark_file"


@dataclass(frozen=True)
class UploadedQuestion:
    question_num: int
    question: str
    answer: str


async def read_upload(file: UploadFile, max_bytes: int) -> bytes:
    """Read the whole upload, raising PayloadTooLarge as soon as it passes ``max_bytes``."""
    data = bytearray()
    while chunk := await file.read(_READ_CHUNK_BYTES):
        data.extend(chunk)
        if len(data) > max_bytes:
            raise PayloadTooLarge(
                f"Benchmark file '{file.filename}' is larger than the limit of {max_bytes} bytes.",
                code="payload_too_large",
            )
    return bytes(data)


def parse_benchmark_file(raw: bytes, filename: str) -> list[UploadedQuestion]:
    """Parse and check a benchmark file; every error names the item or question number at fault."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidBenchmarkFile(
            f"Benchmark file '{filename}' is not UTF-8 text (invalid byte at position {exc.start})."
        ) from None
    if not text.strip():
        raise InvalidBenchmarkFile(
            f"Benchmark file '{filename}' is empty; upload a JSON array of {{question_num, question, answer}} objects."
        )
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidBenchmarkFile(
            f"Benchmark file '{filename}' is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None

    if not isinstance(items, list):
        raise InvalidBenchmarkFile(
            f"Benchmark file '{filename}' must contain a JSON array of {{question_num, question, answer}} "
            f"objects, not a JSON {_type_name(items)}."
        )
    if not items:
        raise InvalidBenchmarkFile(
            f"Benchmark file '{filename}' contains an empty array; add at least one "
            "{question_num, question, answer} object."
        )
    if len(items) > MAX_UPLOADED_QUESTIONS:
        raise InvalidBenchmarkFile(
            f"Benchmark file '{filename}' contains {len(items)} questions; the limit is {MAX_UPLOADED_QUESTIONS}."
        )

    questions: list[UploadedQuestion] = []
    item_by_number: dict[int, int] = {}
    for index, item in enumerate(items, start=1):
        question = _parse_item(item, index, filename)
        first = item_by_number.get(question.question_num)
        if first is not None:
            raise InvalidBenchmarkFile(
                f"Question number {question.question_num} appears twice in benchmark file '{filename}' "
                f"(items {first} and {index}); question numbers must be unique."
            )
        item_by_number[question.question_num] = index
        questions.append(question)
    return sorted(questions, key=lambda question: question.question_num)


def _parse_item(item: Any, index: int, filename: str) -> UploadedQuestion:
    where = f"Item {index} of benchmark file '{filename}'"
    if not isinstance(item, dict):
        raise InvalidBenchmarkFile(
            f"{where} must be an object with question_num, question and answer, not a JSON {_type_name(item)}."
        )
    if "question_num" not in item:
        raise InvalidBenchmarkFile(f"{where} is missing 'question_num'.")
    number = item["question_num"]
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise InvalidBenchmarkFile(
            f"{where} has question_num {json.dumps(number)}; it must be a non-negative integer."
        )

    where = f"Question {number} (item {index}) of benchmark file '{filename}'"
    values: dict[str, str] = {}
    for key in ("question", "answer"):
        if key not in item:
            raise InvalidBenchmarkFile(f"{where} is missing '{key}'.")
        value = item[key]
        if not isinstance(value, str):
            raise InvalidBenchmarkFile(
                f"{where} has a {key} of type {_type_name(value)}; it must be a non-empty string."
            )
        if not value.strip():
            raise InvalidBenchmarkFile(f"{where} has an empty {key}; it must be a non-empty string.")
        values[key] = value.strip()
    return UploadedQuestion(question_num=number, question=values["question"], answer=values["answer"])


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
