"""The alignment job body. It runs in a child process and takes only ids."""

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ProjectStatus
from alignd.alignments.repository import ProjectRepository
from alignd.alignments.service import SOURCES_DIR
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.jobs.models import JobStatus
from alignd.jobs.repository import JobRepository
from alignd.logging import get_logger
from alignd.timeutil import utcnow
from alignd.training.pipeline import AlignmentSpec, SourceDocument, TrainingProgress, run_alignment

log = get_logger(__name__)

# Share of the progress bar given to each phase when the project has a benchmark.
_EVAL_BEFORE_SHARE = 10.0
_EVAL_AFTER_SHARE = 10.0
_REPORT_INTERVAL_SECONDS = 1.0


class ProjectGone(Exception):
    """The project was deleted while its job ran."""


@dataclass(frozen=True)
class _AlignmentJob:
    """Project fields that the job body reads once, before any long work starts."""

    job_id: str
    project_id: str
    base_model: str
    benchmark_id: str | None
    hyperparameters: dict
    data_generator: str
    sources: list[SourceDocument]


def _load_sources(project_dir: Path, project: AlignmentProject) -> list[SourceDocument]:
    sources = []
    for entry in project.documents:
        text = (project_dir / SOURCES_DIR / f"{entry['id']}.txt").read_text(encoding="utf-8")
        sources.append(SourceDocument(id=entry["id"], filename=entry["filename"], text=text))
    return sources


def _update(settings: Settings, project_id: str, **values: object) -> None:
    with session_scope(settings) as session:
        if not ProjectRepository(session).update_fields(project_id, **values):
            raise ProjectGone(project_id)


class _ProgressWriter:
    """Turns training progress into throttled project updates within a progress window."""

    def __init__(self, settings: Settings, project_id: str, start: float, end: float) -> None:
        self.settings = settings
        self.project_id = project_id
        self.start = start
        self.end = end
        self._last_write = 0.0

    def __call__(self, progress: TrainingProgress) -> None:
        now = time.monotonic()
        final = progress.total_steps > 0 and progress.step >= progress.total_steps
        if now - self._last_write < _REPORT_INTERVAL_SECONDS and not final:
            return
        self._last_write = now
        percent = self.start + (self.end - self.start) * max(0.0, min(1.0, progress.fraction))
        eta = utcnow() + timedelta(seconds=progress.eta_seconds) if progress.eta_seconds is not None else None
        state = {
            "phase": progress.phase,
            "step": progress.step,
            "total_steps": progress.total_steps,
            "train_loss": progress.train_loss,
            "eval_loss": progress.eval_loss,
        }
        _update(self.settings, self.project_id, progress=percent, estimated_completion=eta, training_state=state)


class _StopCheck:
    def __init__(self, settings: Settings, job_id: str) -> None:
        self.settings = settings
        self.job_id = job_id
        self._last_check = 0.0
        self._stop = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._last_check >= _REPORT_INTERVAL_SECONDS:
            self._last_check = now
            with session_scope(self.settings) as session:
                job = JobRepository(session).get(self.job_id)
                self._stop = job is None or job.cancel_requested or job.status != JobStatus.RUNNING
        return self._stop


def _benchmark_questions(settings: Settings, benchmark_id: str | None) -> list[str]:
    if benchmark_id is None:
        return []
    from alignd.benchmarks.service import benchmark_questions

    with session_scope(settings) as session:
        return benchmark_questions(session, benchmark_id)


def _evaluate(settings: Settings, project_id: str, phase: str) -> None:
    from alignd.evaluations.auto import evaluate_project_phase

    evaluate_project_phase(settings, project_id, phase)


def run_alignment_job(settings: Settings, job_id: str) -> None:
    with session_scope(settings) as session:
        job = JobRepository(session).get(job_id)
        project = ProjectRepository(session).get_visible(job.target_id) if job is not None else None
        if job is None or project is None:
            log.info("alignment.job_skipped", job_id=job_id, reason="project deleted")
            return
        work = _AlignmentJob(
            job_id=job_id,
            project_id=project.id,
            base_model=project.base_model,
            benchmark_id=project.benchmark_id,
            hyperparameters=dict(project.hyperparameters or {}),
            data_generator=project.data_generator,
            sources=_load_sources(settings.project_dir(project.id), project),
        )

    log.info("alignment.started", alignment_id=work.project_id, job_id=job_id, base_model=work.base_model)
    _update(settings, work.project_id, status=ProjectStatus.PROCESSING, started_at=utcnow(), progress=0.0, error=None)
    try:
        _run_phases(settings, work)
    except ProjectGone:
        log.info("alignment.abandoned", alignment_id=work.project_id, job_id=job_id, reason="project deleted")
    except Exception as exc:
        with session_scope(settings) as session:
            mark_alignment_failed(session, work.project_id, f"{type(exc).__name__}: {exc}")
        raise


def _run_phases(settings: Settings, work: _AlignmentJob) -> None:
    """Evaluate the base model (with a benchmark), train, evaluate the aligned model, mark READY."""
    project_id = work.project_id
    train_start, train_end = 0.0, 99.0
    if work.benchmark_id is not None:
        _evaluate(settings, project_id, "before")
        train_start, train_end = _EVAL_BEFORE_SHARE, 100.0 - _EVAL_AFTER_SHARE
        _update(settings, project_id, progress=train_start)

    spec = AlignmentSpec(
        project_id=project_id,
        base_model=work.base_model,
        documents=work.sources,
        hyperparameters=work.hyperparameters,
        data_generator=work.data_generator,
        output_dir=settings.project_dir(project_id),
        exclude_questions=_benchmark_questions(settings, work.benchmark_id),
    )
    result = run_alignment(
        settings, spec, _ProgressWriter(settings, project_id, train_start, train_end),
        _StopCheck(settings, work.job_id),
    )
    _store_training_result(settings, project_id, result.hyperparameters, result.dataset_stats, result.metrics)

    if work.benchmark_id is not None:
        _update(settings, project_id, status=ProjectStatus.EVALUATING, progress=train_end)
        _evaluate(settings, project_id, "after")

    with session_scope(settings) as session:
        project = ProjectRepository(session).get_visible(project_id)
        if project is None:
            raise ProjectGone(project_id)
        project.training_state = {**(project.training_state or {}), "phase": "done"}
        project.status = ProjectStatus.READY
        project.progress = 100.0
        project.completed_at = utcnow()
        project.estimated_completion = None
    log.info("alignment.ready", alignment_id=project_id, job_id=work.job_id)


def _store_training_result(settings: Settings, project_id: str, hyperparameters: dict, dataset_stats: dict,
                           metrics: dict) -> None:
    with session_scope(settings) as session:
        project = ProjectRepository(session).get_visible(project_id)
        if project is None:
            raise ProjectGone(project_id)
        project.hyperparameters = dict(hyperparameters)
        project.dataset_stats = dict(dataset_stats)
        project.performance_metrics = {**(project.performance_metrics or {}), **metrics}


def mark_alignment_failed(session: Session, project_id: str, error: str) -> None:
    """Record a failure on the project and its running evaluation, unless it is being deleted."""
    from alignd.evaluations.service import mark_project_evaluation_failed

    ProjectRepository(session).update_fields(
        project_id, status=ProjectStatus.FAILED, error=error, completed_at=utcnow(), estimated_completion=None
    )
    mark_project_evaluation_failed(session, project_id, error)
    log.error("alignment.failed", alignment_id=project_id, error=error)
