"""The benchmark job body: generate questions and reference answers from documents, in a child process."""

from sqlalchemy.orm import Session

import alignd.db.registry  # noqa: F401 - maps every table, so foreign keys resolve in the job's child process

from alignd.benchmarks.generation import generate_questions
from alignd.benchmarks.models import BenchmarkQuestion, BenchmarkStatus
from alignd.benchmarks.repository import BenchmarkRepository
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.documents.repository import DocumentRepository
from alignd.documents.storage import read_text
from alignd.errors import NotFound
from alignd.jobs.repository import JobRepository
from alignd.logging import get_logger
from alignd.timeutil import utcnow
from alignd.training.pipeline import SourceDocument

log = get_logger(__name__)


class BenchmarkGone(Exception):
    """The benchmark was deleted while its questions were being generated."""


def run_benchmark_job(settings: Settings, job_id: str) -> None:
    with session_scope(settings) as session:
        job = JobRepository(session).get(job_id)
        benchmark_id = job.target_id if job is not None else None
    if benchmark_id is None:
        log.info("benchmark.job_skipped", job_id=job_id, reason="job deleted")
        return

    try:
        _run(settings, job_id, benchmark_id)
    except BenchmarkGone:
        log.info("benchmark.abandoned", benchmark_id=benchmark_id, job_id=job_id, reason="benchmark deleted")
    except Exception as exc:
        with session_scope(settings) as session:
            mark_benchmark_failed(session, benchmark_id, f"{type(exc).__name__}: {exc}")
        raise


def _run(settings: Settings, job_id: str, benchmark_id: str) -> None:
    with session_scope(settings) as session:
        benchmark = BenchmarkRepository(session).get(benchmark_id)
        if benchmark is None:
            raise BenchmarkGone(benchmark_id)
        if benchmark.status != BenchmarkStatus.PROCESSING:
            log.info("benchmark.job_skipped", job_id=job_id, benchmark_id=benchmark_id, reason="not PROCESSING")
            return
        user_id = benchmark.user_id
        document_ids = list(benchmark.document_ids or [])
        num_questions = benchmark.num_questions_requested or 10
        generator_name = benchmark.data_generator or "extractive"
        benchmark.start_time = utcnow()

    log.info("benchmark.started", benchmark_id=benchmark_id, job_id=job_id, documents=len(document_ids))
    _generate(settings, benchmark_id, user_id, document_ids, num_questions, generator_name)


def _generate(
    settings: Settings, benchmark_id: str, user_id: str, document_ids: list[str], count: int, generator_name: str
) -> None:
    with session_scope(settings) as session:
        repo = DocumentRepository(session)
        filenames = {}
        for document_id in document_ids:
            row = repo.get_for_user(user_id, document_id)
            if row is not None:
                filenames[document_id] = row.filename

    documents = []
    for document_id, filename in filenames.items():
        try:
            text = read_text(settings, user_id, document_id)
        except NotFound:
            log.warning("benchmark.document_missing", benchmark_id=benchmark_id, document_id=document_id)
            continue
        documents.append(SourceDocument(id=document_id, filename=filename, text=text))
    if not documents:
        raise LookupError("None of the benchmark's documents exist any more; upload them again.")

    questions = generate_questions(settings, documents, count, generator_name)
    if not questions:
        raise ValueError("No question could be generated from the documents; they may contain too little text.")

    with session_scope(settings) as session:
        repo = BenchmarkRepository(session)
        benchmark = repo.get(benchmark_id)
        if benchmark is None:
            raise BenchmarkGone(benchmark_id)
        repo.replace_questions(
            benchmark_id,
            [
                BenchmarkQuestion(
                    question_num=number,
                    question=item.question,
                    answer=item.answer,
                    document_id=item.document_id,
                )
                for number, item in enumerate(questions, start=1)
            ],
        )
        benchmark.status = BenchmarkStatus.READY
        benchmark.end_time = utcnow()
        benchmark.error = None
    log.info("benchmark.ready", benchmark_id=benchmark_id, questions=len(questions), requested=count)


def mark_benchmark_failed(session: Session, benchmark_id: str, error: str) -> None:
    """Record a failure on a PROCESSING benchmark; a finished or deleted one is left as it is."""
    benchmark = BenchmarkRepository(session).get(benchmark_id)
    if benchmark is None or benchmark.status != BenchmarkStatus.PROCESSING:
        return
    benchmark.status = BenchmarkStatus.FAILED
    benchmark.error = error
    benchmark.end_time = utcnow()
    session.flush()
    log.error("benchmark.failed", benchmark_id=benchmark_id, error=error)
