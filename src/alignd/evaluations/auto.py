"""Automatic evaluation of an alignment project on its benchmark, before and after training.

One Evaluation row per project contains both phases: slot 1 is the base model ("before"),
slot 2 the base model with the project's adapter ("after").
"""

from typing import Any

from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject
from alignd.benchmarks.models import BenchmarkStatus
from alignd.benchmarks.repository import BenchmarkRepository
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.evaluations.models import Evaluation, EvaluationStatus
from alignd.evaluations.repository import EvaluationRepository
from alignd.evaluations.runner import BenchmarkItem, answer_benchmark, build_scorer, finish, scoring_settings
from alignd.evaluations.sources import project_source_texts
from alignd.evaluations.targets import ModelTarget, adapter_dir
from alignd.evaluations.tasks import mark_evaluation_failed
from alignd.ids import new_id
from alignd.logging import get_logger
from alignd.serving.factory import build_engine
from alignd.timeutil import utcnow

log = get_logger(__name__)

PHASE_SLOTS = {"before": 1, "after": 2}
# Metrics copied into the project's performance_metrics as "<name>_<phase>".
PROJECT_METRICS = ("accuracy", "uncertainty", "domain_violations")


def evaluate_project_phase(settings: Settings, project_id: str, phase: str) -> dict[str, float]:
    """Evaluate the project's base model ("before") or aligned model ("after") on its benchmark.

    Merges ``accuracy_<phase>``, ``uncertainty_<phase>`` and ``domain_violations_<phase>`` into
    the project's ``performance_metrics`` and returns them. Raises LookupError when the project or
    its benchmark is gone, ValueError for a bad phase or a benchmark that is not READY.
    """
    if phase not in PHASE_SLOTS:
        raise ValueError(f"phase must be 'before' or 'after', not {phase!r}.")
    slot = PHASE_SLOTS[phase]

    with session_scope(settings) as session:
        project = _visible_project(session, project_id)
        items = _benchmark_items(session, project)
        evaluation = _project_evaluation(session, settings, project, len(items))
        if slot == 2:
            # A retried job trains a new adapter, so answers of an earlier adapter are stale.
            EvaluationRepository(session).delete_answers(evaluation.id, 2)
        evaluation_id = evaluation.id
        target = _phase_target(settings, project, slot)
        project_dir = settings.project_dir(project.id)
    log.info("evaluation.project_phase_started", evaluation_id=evaluation_id, alignment_id=project_id, phase=phase)

    try:
        metrics = _run_phase(settings, evaluation_id, slot, target, items, project_source_texts(project_dir))
    except Exception as exc:
        with session_scope(settings) as session:
            mark_evaluation_failed(session, evaluation_id, f"{type(exc).__name__}: {exc}")
        raise

    values = {f"{name}_{phase}": metrics.get(name) for name in PROJECT_METRICS}
    with session_scope(settings) as session:
        project = _visible_project(session, project_id)
        project.performance_metrics = {**(project.performance_metrics or {}), **values}
        project.evaluation_id = evaluation_id
    log.info("evaluation.project_phase_finished", evaluation_id=evaluation_id, alignment_id=project_id, phase=phase)
    return values


def _run_phase(
    settings: Settings,
    evaluation_id: str,
    slot: int,
    target: ModelTarget,
    items: list[BenchmarkItem],
    sources: list[str],
) -> dict[str, Any]:
    scorer = build_scorer(settings, sources, use_judge=bool(settings.judge_url))
    engine = build_engine(settings)
    try:
        answer_benchmark(settings, evaluation_id, {slot: target}, items, scorer, engine)
    finally:
        engine.shutdown()
        scorer.close()

    with session_scope(settings) as session:
        evaluation = finish(session, evaluation_id, [slot])
        # READY after each phase, so the "before" results are readable while the project trains.
        evaluation.status = EvaluationStatus.READY
        evaluation.completed_at = utcnow()
        evaluation.error = None
        metrics = evaluation.metrics_1 if slot == 1 else evaluation.metrics_2
        return dict(metrics or {})


def _visible_project(session: Session, project_id: str) -> AlignmentProject:
    project = session.get(AlignmentProject, project_id)
    if project is None or project.deleting:
        raise LookupError(f"Alignment project '{project_id}' not found.")
    return project


def _benchmark_items(session: Session, project: AlignmentProject) -> list[BenchmarkItem]:
    if project.benchmark_id is None:
        raise ValueError(f"Alignment project '{project.id}' has no benchmark to evaluate on.")
    repo = BenchmarkRepository(session)
    benchmark = repo.get(project.benchmark_id)
    if benchmark is None:
        raise LookupError(f"Benchmark '{project.benchmark_id}' of project '{project.id}' was deleted.")
    if benchmark.status != BenchmarkStatus.READY:
        raise ValueError(
            f"Benchmark '{benchmark.id}' of project '{project.id}' is {benchmark.status}; it must be READY."
        )
    items = [BenchmarkItem(row.question_num, row.question, row.answer) for row in repo.questions(benchmark.id)]
    if not items:
        raise ValueError(f"Benchmark '{benchmark.id}' of project '{project.id}' has no questions.")
    return items


def _project_evaluation(session: Session, settings: Settings, project: AlignmentProject, total: int) -> Evaluation:
    """Return the project's automatic evaluation, creating it on the first phase, set to PROCESSING."""
    repo = EvaluationRepository(session)
    evaluation = repo.get(project.evaluation_id) if project.evaluation_id else None
    if evaluation is None or evaluation.project_id != project.id:
        evaluation = Evaluation(
            id=new_id("eval"),
            user_id=project.user_id,
            model_id=project.base_model,
            model_id_2=project.model_id,
            benchmark_id=project.benchmark_id,
            project_id=project.id,
            custom_metrics=[],
        )
        repo.add(evaluation)
        project.evaluation_id = evaluation.id
    evaluation.status = EvaluationStatus.PROCESSING
    evaluation.error = None
    evaluation.completed_at = None
    evaluation.total_questions = total
    evaluation.completed_questions = 0
    evaluation.answer_seconds = 0.0
    evaluation.started_at = evaluation.started_at or utcnow()
    evaluation.scoring = scoring_settings(settings)
    session.flush()
    return evaluation


def _phase_target(settings: Settings, project: AlignmentProject, slot: int) -> ModelTarget:
    if slot == 1:
        return ModelTarget(model_id=project.base_model, base_model=project.base_model)
    folder = adapter_dir(settings, project.id)
    if not folder.is_dir():
        raise LookupError(f"Alignment project '{project.id}' has no adapter at {folder} to evaluate.")
    return ModelTarget(model_id=project.model_id, base_model=project.base_model, adapter_dir=folder)
