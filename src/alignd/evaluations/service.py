"""Rules of evaluations: create, read, results, download, list and delete."""

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject
from alignd.auth.models import User
from alignd.benchmarks import service as benchmarks
from alignd.benchmarks.models import BenchmarkStatus
from alignd.benchmarks.repository import BenchmarkRepository
from alignd.config import Settings
from alignd.errors import BadRequest, NotFound
from alignd.evaluations.judge import JudgeNotConfigured, judge_configured
from alignd.evaluations.models import Evaluation, EvaluationStatus
from alignd.evaluations.repository import EvaluationRepository
from alignd.evaluations.schemas import (
    CreateEvaluationRequest,
    EvaluationOut,
    EvaluationResults,
    EvaluationStatusOut,
    MetricName,
)
from alignd.evaluations.targets import resolve_target
from alignd.ids import new_id
from alignd.jobs.models import JobKind
from alignd.jobs.repository import JobRepository
from alignd.jobs.service import enqueue, stop_jobs_for_target
from alignd.logging import get_logger
from alignd.timeutil import utcnow

log = get_logger(__name__)


class EvaluationNotFound(NotFound):
    code = "evaluation_not_found"


class EvaluationNotFinished(BadRequest):
    code = "evaluation_not_finished"


class EvaluationFailed(BadRequest):
    code = "evaluation_failed"


class EvaluationOwnedByProject(BadRequest):
    code = "evaluation_owned_by_project"


class BenchmarkNotReady(BadRequest):
    code = "benchmark_not_ready"


def get(session: Session, user: User, evaluation_id: str) -> Evaluation:
    evaluation = EvaluationRepository(session).get_for_user(user.id, evaluation_id)
    if evaluation is None:
        raise EvaluationNotFound(f"Evaluation '{evaluation_id}' not found.")
    return evaluation


def create(session: Session, settings: Settings, user: User, body: CreateEvaluationRequest) -> Evaluation:
    """Check the benchmark and models, then queue an ``evaluate`` job."""
    benchmark = benchmarks.get(session, user, body.benchmark_id)
    if benchmark.status != BenchmarkStatus.READY:
        raise BenchmarkNotReady(
            f"Benchmark '{benchmark.id}' is {benchmark.status}; evaluate on it once it is READY."
        )
    total = len(BenchmarkRepository(session).questions(benchmark.id))
    if total == 0:
        raise BenchmarkNotReady(f"Benchmark '{benchmark.id}' has no questions.")

    resolve_target(session, settings, user.id, body.model_id)
    if body.model_id_2 is not None:
        resolve_target(session, settings, user.id, body.model_id_2)
    metrics = [str(name) for name in dict.fromkeys(body.custom_metrics or [])]
    if MetricName.LLM_JUDGE in metrics and not judge_configured(settings):
        raise JudgeNotConfigured(
            "custom_metrics asks for 'llm_judge', but no judge endpoint is configured; set "
            "ALIGND_JUDGE_URL and ALIGND_JUDGE_MODEL or leave 'llm_judge' out."
        )

    evaluation = Evaluation(
        id=new_id("eval"),
        user_id=user.id,
        model_id=body.model_id,
        model_id_2=body.model_id_2,
        benchmark_id=benchmark.id,
        status=EvaluationStatus.PROCESSING,
        custom_metrics=metrics,
        total_questions=total,
    )
    EvaluationRepository(session).add(evaluation)
    job = enqueue(session, user_id=user.id, kind=JobKind.EVALUATE, target_id=evaluation.id)
    log.info("evaluation.queued", evaluation_id=evaluation.id, job_id=job.id, benchmark_id=benchmark.id)
    return evaluation


def list_for_user(
    session: Session, user: User, *, status: str | None, model_id: str | None, limit: int, offset: int
) -> tuple[list[Evaluation], int]:
    return EvaluationRepository(session).list_for_user(
        user.id, status=status, model_id=model_id, limit=limit, offset=offset
    )


def delete(session: Session, settings: Settings, user: User, evaluation_id: str) -> None:
    """Delete an evaluation and its answers, stopping it first when it runs."""
    evaluation = get(session, user, evaluation_id)
    if evaluation.project_id is not None:
        raise EvaluationOwnedByProject(
            f"Evaluation '{evaluation_id}' is the automatic evaluation of alignment project "
            f"'{evaluation.project_id}'; it is deleted together with the project."
        )
    if evaluation.status == EvaluationStatus.PROCESSING:
        stop_jobs_for_target(settings, evaluation_id)
    JobRepository(session).delete_for_target(evaluation_id)
    EvaluationRepository(session).delete(evaluation)
    log.info("evaluation.deleted", evaluation_id=evaluation_id, user_id=user.id)


def delete_for_project(session: Session, settings: Settings, project_id: str) -> None:
    """Delete the automatic evaluations of a project with their answers and jobs.

    Evaluations keep no files of their own, so removing the rows removes everything.
    """
    repo = EvaluationRepository(session)
    jobs = JobRepository(session)
    for evaluation in repo.list_for_project(project_id):
        jobs.delete_for_target(evaluation.id)
        repo.delete(evaluation)
        log.info("evaluation.deleted_with_project", evaluation_id=evaluation.id, alignment_id=project_id)


def mark_project_evaluation_failed(session: Session, project_id: str, error: str) -> None:
    """Fail the project's automatic evaluation if it is still PROCESSING, as when the alignment job died."""
    for evaluation in EvaluationRepository(session).list_for_project(project_id):
        if evaluation.status == EvaluationStatus.PROCESSING:
            evaluation.status = EvaluationStatus.FAILED
            evaluation.error = error
            evaluation.completed_at = utcnow()
    session.flush()


def evaluation_data_for_project(session: Session, project: AlignmentProject) -> dict[str, Any] | None:
    """Summarize the project's automatic evaluation for ``evaluation_data``; None when it has none."""
    if not project.evaluation_id:
        return None
    evaluation = EvaluationRepository(session).get(project.evaluation_id)
    if evaluation is None or evaluation.project_id != project.id:
        return None
    return {
        "evaluation_id": evaluation.id,
        "benchmark_id": evaluation.benchmark_id,
        "status": evaluation.status,
        "total_questions": evaluation.total_questions,
        "before": _public_metrics(evaluation.metrics_1),
        "after": _public_metrics(evaluation.metrics_2),
        "completed_at": evaluation.completed_at.isoformat() if evaluation.completed_at else None,
        "error": evaluation.error,
    }


def to_out(evaluation: Evaluation) -> EvaluationOut:
    completed, total = _counts(evaluation)
    return EvaluationOut(
        evaluation_id=evaluation.id,
        model_id=evaluation.model_id,
        model_id_2=evaluation.model_id_2,
        benchmark_id=evaluation.benchmark_id,
        project_id=evaluation.project_id,
        status=evaluation.status,
        progress=f"{completed}/{total} questions",
        total_questions=total,
        completed_questions=completed,
        custom_metrics=list(evaluation.custom_metrics or []),
        created_at=evaluation.created_at,
        started_at=evaluation.started_at,
        completed_at=evaluation.completed_at,
        error=evaluation.error,
    )


def status_of(evaluation: Evaluation) -> EvaluationStatusOut:
    completed, total = _counts(evaluation)
    remaining = total - completed
    answered = evaluation.completed_questions
    average = evaluation.answer_seconds / answered if answered > 0 else None
    eta_seconds: float | None = None
    if evaluation.status == EvaluationStatus.READY:
        eta_seconds = 0.0
    elif evaluation.status == EvaluationStatus.PROCESSING and average is not None:
        eta_seconds = average * remaining
    return EvaluationStatusOut(
        evaluation_id=evaluation.id,
        status=evaluation.status,
        progress=f"{completed}/{total} questions",
        total_questions=total,
        completed_questions=completed,
        remaining_questions=remaining,
        progress_percent=round(100.0 * completed / total, 2) if total else 0.0,
        average_seconds_per_question=round(average, 4) if average is not None else None,
        estimated_seconds_remaining=round(eta_seconds, 2) if eta_seconds is not None else None,
        estimated_completion=(
            utcnow() + timedelta(seconds=eta_seconds)
            if eta_seconds is not None and evaluation.status == EvaluationStatus.PROCESSING
            else evaluation.completed_at
        ),
        started_at=evaluation.started_at,
        completed_at=evaluation.completed_at,
        error=evaluation.error,
    )


def results_of(evaluation: Evaluation) -> EvaluationResults:
    _require_ready(evaluation)
    by_model: dict[str, dict[str, Any]] = {}
    if evaluation.metrics_1 is not None:
        by_model[evaluation.model_id] = evaluation.metrics_1
    if evaluation.model_id_2 is not None and evaluation.metrics_2 is not None:
        by_model[evaluation.model_id_2] = evaluation.metrics_2
    return EvaluationResults(
        evaluation_id=evaluation.id,
        status=evaluation.status,
        model_id=evaluation.model_id,
        model_id_2=evaluation.model_id_2,
        benchmark_id=evaluation.benchmark_id,
        project_id=evaluation.project_id,
        total_questions=evaluation.total_questions,
        metrics=evaluation.metrics_1,
        metrics_2=evaluation.metrics_2,
        metrics_by_model=by_model,
        comparison=_comparison(evaluation.metrics_1, evaluation.metrics_2),
        settings=dict(evaluation.scoring or {}),
        completed_at=evaluation.completed_at,
    )


def download_of(session: Session, evaluation: Evaluation) -> dict[str, Any]:
    """Build the downloadable report: the results plus every question with its answers and scores."""
    results = results_of(evaluation).model_dump(mode="json")
    questions: dict[int, dict[str, Any]] = {}
    for row in EvaluationRepository(session).answers(evaluation.id):
        entry = questions.setdefault(
            row.question_num,
            {
                "question_num": row.question_num,
                "question": row.question,
                "expected_answer": row.expected_answer,
                "model_answer": None,
                "scores": None,
                "model_answer_2": None,
                "scores_2": None,
            },
        )
        suffix = "" if row.slot == 1 else "_2"
        entry[f"model_answer{suffix}"] = row.answer
        entry[f"scores{suffix}"] = {**(row.scores or {}), "seconds": row.seconds}
    return {**results, "created_at": evaluation.created_at.isoformat(), "questions": list(questions.values())}


def _require_ready(evaluation: Evaluation) -> None:
    if evaluation.status == EvaluationStatus.FAILED:
        raise EvaluationFailed(f"Evaluation '{evaluation.id}' failed and has no results: {evaluation.error}")
    if evaluation.status != EvaluationStatus.READY:
        completed, total = _counts(evaluation)
        raise EvaluationNotFinished(
            f"Evaluation '{evaluation.id}' is {evaluation.status} ({completed}/{total} questions); "
            "results are available once its status is READY."
        )


def _counts(evaluation: Evaluation) -> tuple[int, int]:
    total = evaluation.total_questions
    if evaluation.status == EvaluationStatus.READY:
        return total, total
    return min(evaluation.completed_questions, total), total


def _comparison(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, float] | None:
    if first is None or second is None:
        return None
    return {
        f"{name}_difference": float(second[name]) - float(value)
        for name, value in first.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
        and isinstance(second.get(name), int | float) and not isinstance(second.get(name), bool)
    }


def _public_metrics(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    return {name: metrics.get(name) for name in ("accuracy", "uncertainty", "domain_violations")}
