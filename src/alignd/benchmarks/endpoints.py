"""HTTP routes of benchmarks (served under /benchmark)."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from alignd.auth.dependencies import CurrentUser
from alignd.benchmarks import service
from alignd.benchmarks.dependencies import OwnedBenchmark
from alignd.benchmarks.schemas import (
    BenchmarkCreated,
    BenchmarkData,
    BenchmarkDeleted,
    BenchmarkList,
    BenchmarkStatusOut,
    CreateBenchmarkRequest,
    benchmark_data,
    benchmark_out,
    benchmark_status,
)
from alignd.benchmarks.upload import parse_benchmark_file, read_upload
from alignd.db.dependencies import DbSession
from alignd.runtime import Runtime, get_runtime

router = APIRouter()
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@router.post("/create", response_model=BenchmarkCreated)
def create(
    body: CreateBenchmarkRequest, user: CurrentUser, session: DbSession, runtime: RuntimeDep
) -> BenchmarkCreated:
    benchmark = service.create(session, runtime.settings, user, body)
    return BenchmarkCreated(id=benchmark.id, status=benchmark.status)


@router.post("/upload", response_model=BenchmarkData)
async def upload(
    user: CurrentUser,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="JSON array of {question_num, question, answer} objects.")],
    name: Annotated[str | None, Form(description="Benchmark name; defaults to the file name.")] = None,
    document_id: Annotated[
        str | None, Form(description="Document the questions are about; answers are checked against it.")
    ] = None,
    description: Annotated[str | None, Form(max_length=5000)] = None,
) -> BenchmarkData:
    filename = file.filename or "benchmark.json"
    raw = await read_upload(file, runtime.settings.max_upload_bytes)
    questions = parse_benchmark_file(raw, filename)
    benchmark = service.upload(
        session,
        user,
        filename=filename,
        questions=questions,
        name=name,
        description=description,
        document_id=document_id or None,
    )
    return benchmark_data(benchmark)


@router.get("/status/{benchmark_id}", response_model=BenchmarkStatusOut)
def status(benchmark: OwnedBenchmark) -> BenchmarkStatusOut:
    return benchmark_status(benchmark)


@router.get("/list", response_model=BenchmarkList)
def list_benchmarks(user: CurrentUser, session: DbSession) -> BenchmarkList:
    rows = service.list_with_counts(session, user)
    return BenchmarkList(benchmarks=[benchmark_out(benchmark, count) for benchmark, count in rows])


@router.get("/{benchmark_id}/data", response_model=BenchmarkData)
def data(benchmark: OwnedBenchmark) -> BenchmarkData:
    return benchmark_data(benchmark)


@router.delete("/{benchmark_id}", response_model=BenchmarkDeleted)
def delete(benchmark_id: str, user: CurrentUser, session: DbSession, runtime: RuntimeDep) -> BenchmarkDeleted:
    service.delete(session, runtime.settings, user, benchmark_id)
    return BenchmarkDeleted(benchmark_id=benchmark_id, message="Benchmark successfully deleted")

