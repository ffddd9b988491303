"""Request and response bodies of the benchmark routes."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from alignd.benchmarks.models import Benchmark

# Largest number of questions a generated benchmark may ask for.
MAX_GENERATED_QUESTIONS = 1000


class CreateBenchmarkRequest(BaseModel):
    documents: list[str] = Field(
        min_length=1, max_length=100, description="Ids of the documents to generate questions from."
    )
    num_questions: int = Field(
        default=10, ge=1, le=MAX_GENERATED_QUESTIONS, description="Number of questions to generate."
    )
    name: str | None = Field(default=None, min_length=1, max_length=200, description="Benchmark name.")
    data_generator: Literal["extractive", "teacher"] = Field(
        default="extractive",
        description=(
            "Question generator: 'extractive' copies answers out of the documents offline, 'teacher' "
            "sends the documents to the configured teacher endpoint."
        ),
    )
    description: str | None = Field(default=None, max_length=5000)


class BenchmarkCreated(BaseModel):
    id: str
    status: str


class BenchmarkStatusOut(BaseModel):
    id: str
    benchmark_name: str
    status: str
    start_time: datetime | None
    end_time: datetime | None
    error: str | None


class QuestionOut(BaseModel):
    question_num: int
    question: str
    answer: str


class BenchmarkOut(BaseModel):
    id: str
    # ``name`` and ``benchmark_name`` carry the same value: clients of the reference API read either.
    name: str
    benchmark_name: str
    description: str | None
    status: str
    source: str
    # Generator of a generated benchmark's questions; None for an uploaded one.
    data_generator: str | None
    document_ids: list[str]
    num_questions: int
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    error: str | None


class BenchmarkData(BenchmarkOut):
    questions: list[QuestionOut]


class BenchmarkList(BaseModel):
    benchmarks: list[BenchmarkOut]


class BenchmarkDeleted(BaseModel):
    benchmark_id: str
    message: str


def benchmark_out(benchmark: Benchmark, num_questions: int) -> BenchmarkOut:
    return BenchmarkOut(**_fields(benchmark, num_questions))


def benchmark_data(benchmark: Benchmark) -> BenchmarkData:
    questions = [
        QuestionOut(question_num=row.question_num, question=row.question, answer=row.answer)
        for row in benchmark.questions
    ]
    return BenchmarkData(**_fields(benchmark, len(questions)), questions=questions)


def benchmark_status(benchmark: Benchmark) -> BenchmarkStatusOut:
    return BenchmarkStatusOut(
        id=benchmark.id,
        benchmark_name=benchmark.name,
        status=benchmark.status,
        start_time=benchmark.start_time,
        end_time=benchmark.end_time,
        error=benchmark.error,
    )


def _fields(benchmark: Benchmark, num_questions: int) -> dict:
    return {
        "id": benchmark.id,
        "name": benchmark.name,
        "benchmark_name": benchmark.name,
        "description": benchmark.description,
        "status": benchmark.status,
        "source": benchmark.source,
        "data_generator": benchmark.data_generator,
        "document_ids": list(benchmark.document_ids or []),
        "num_questions": num_questions,
        "created_at": benchmark.created_at,
        "start_time": benchmark.start_time,
        "end_time": benchmark.end_time,
        "error": benchmark.error,
    }
