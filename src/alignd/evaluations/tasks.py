"""The evaluation job body. It runs in a child process and takes only ids."""

from sqlalchemy.orm import Session

import alignd.db.registry  # noqa: F401 - maps every table, so foreign keys resolve in the job's child process

from alignd.benchmarks.models import BenchmarkStatus
from alignd.benchmarks.repository import BenchmarkRepository
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.evaluations.models import EvaluationStatus
from alignd.evaluations.repository import EvaluationRepository
from alignd.evaluations.runner import (
    BenchmarkItem,
    EvaluationGone,
    answer_benchmark,
    build_scorer,
    finish,
    scoring_settings,
)
from alignd.evaluations.schemas import MetricName
from alignd.evaluations.sources import benchmark_document_texts
from alignd.evaluations.targets import resolve_target
from alignd.jobs.repository import JobRepository
from alignd.logging import get_logger
from alignd.serving.factory import build_engine
from alignd.timeutil import utcnow

log = get_logger(__name__)


def run_evaluation_job(settings: Settings, job_id: str) -> None:
    with session_scope(settings) as session:
        job = JobRepository(session).get(job_id)
        evaluation_id = job.target_id if job is not None else None
    if evaluation_id is None:
        log.info("evaluation.job_skipped", job_id=job_id, reason="job deleted")
        return

    try:
        _run(settings, job_id, evaluation_id)
    except EvaluationGone:
        log.info("evaluation.abandoned", evaluation_id=evaluation_id, job_id=job_id, reason="evaluation deleted")
    except Exception as exc:
        with session_scope(settings) as session:
            mark_evaluation_failed(session, evaluation_id, f"{type(exc).__name__}: {exc}")
        raise


def _run(settings: Settings, job_id: str, evaluation_id: str) -> None:
    with session_scope(settings) as session:
        evaluation = EvaluationRepository(session).get(evaluation_id)
        if evaluation is None:
            raise EvaluationGone(evaluation_id)
        if evaluation.status != EvaluationStatus.PROCESSING:
            log.info("evaluation.job_skipped", job_id=job_id, evaluation_id=evaluation_id, reason="not PROCESSING")
            return
        targets = {1: resolve_target(session, settings, evaluation.user_id, evaluation.model_id)}
        if evaluation.model_id_2 is not None:
            targets[2] = resolve_target(session, settings, evaluation.user_id, evaluation.model_id_2)
        items, document_ids = _load_benchmark(session, evaluation.benchmark_id)
        use_judge = MetricName.LLM_JUDGE in (evaluation.custom_metrics or [])
        user_id = evaluation.user_id
        evaluation.started_at = evaluation.started_at or utcnow()
        evaluation.scoring = scoring_settings(settings)
    log.info("evaluation.started", evaluation_id=evaluation_id, job_id=job_id, models=len(targets))

    scorer = build_scorer(settings, benchmark_document_texts(settings, user_id, document_ids), use_judge)
    engine = build_engine(settings)
    try:
        answer_benchmark(settings, evaluation_id, targets, items, scorer, engine)
    finally:
        engine.shutdown()
        scorer.close()

    with session_scope(settings) as session:
        evaluation = finish(session, evaluation_id, list(targets))
        evaluation.status = EvaluationStatus.READY
        evaluation.completed_at = utcnow()
        evaluation.error = None
    log.info("evaluation.ready", evaluation_id=evaluation_id, models=len(targets), questions=len(items))


def _load_benchmark(session: Session, benchmark_id: str) -> tuple[list[BenchmarkItem], list[str]]:
    repo = BenchmarkRepository(session)
    benchmark = repo.get(benchmark_id)
    if benchmark is None:
        raise LookupError(f"Benchmark '{benchmark_id}' was deleted before the evaluation could run.")
    if benchmark.status != BenchmarkStatus.READY:
        raise ValueError(f"Benchmark '{benchmark_id}' is {benchmark.status}, not READY.")
    items = [BenchmarkItem(row.question_num, row.question, row.answer) for row in repo.questions(benchmark_id)]
    if not items:
        raise ValueError(f"Benchmark '{benchmark_id}' has no questions.")
    return items, list(benchmark.document_ids or [])


def mark_evaluation_failed(session: Session, evaluation_id: str, error: str) -> None:
    """Record a failure on a PROCESSING evaluation; a finished or deleted one is left as it is."""
    evaluation = EvaluationRepository(session).get(evaluation_id)
    if evaluation is None or evaluation.status != EvaluationStatus.PROCESSING:
        return
    evaluation.status = EvaluationStatus.FAILED
    evaluation.error = error
    evaluation.completed_at = utcnow()
    session.flush()
    log.error("evaluation.failed", evaluation_id=evaluation_id, error=error)

