"""Multi-node serving: every API node serves every deployed model.

The database is the one source of truth about which aligned models are deployed. The API node that
receives a deploy or undeploy request runs it as in single-node mode (``deployments.service``).
Every API node also runs ``ModelSync``, which every ``model_sync_seconds`` loads the adapters of
DEPLOYED models that its engine lacks and unloads those whose model is UNDEPLOYED or gone. A
model in DEPLOYING or UNDEPLOYING is left alone, because the node that runs that step owns it.
The inference route answers only for models that the database says are DEPLOYED, so a node
that still holds an undeployed adapter never serves it.

A deploy or undeploy whose node died stays in DEPLOYING or UNDEPLOYING until any API node
restarts (``restore_deployments``) or until ``model_task_timeout_seconds`` have passed, after
which a sync pass moves the model back to UNDEPLOYED.
"""

import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from alignd.alignments.models import AlignmentProject, ModelStatus
from alignd.alignments.repository import ModelTaskRepository, ProjectRepository
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.deployments.service import DEPLOY, UNDEPLOY
from alignd.jobs.sweeper import PeriodicSweeper
from alignd.logging import get_logger
from alignd.runtime import Runtime
from alignd.serving.engine import ServingEngine
from alignd.timeutil import utcnow

log = get_logger(__name__)

# Loads started by the sync loop and by inference requests run one at a time on a node.
_load_lock = threading.Lock()


@dataclass(frozen=True)
class _ModelRow:
    project_id: str
    model_id: str
    base_model: str
    status: str


def _model_rows(settings: Settings) -> dict[str, _ModelRow]:
    """Return the visible models whose status is not UNDEPLOYED, by model id."""
    with session_scope(settings) as session:
        rows = ProjectRepository(session).list_with_model_status(
            ModelStatus.DEPLOYING, ModelStatus.DEPLOYED, ModelStatus.UNDEPLOYING
        )
        return {row.model_id: _ModelRow(row.id, row.model_id, row.base_model, row.model_status) for row in rows}


def _current_status(settings: Settings, model_id: str) -> str | None:
    """Return the model's status now, or None when its project is gone or being deleted."""
    with session_scope(settings) as session:
        return session.scalar(
            select(AlignmentProject.model_status).where(
                AlignmentProject.model_id == model_id, AlignmentProject.deleting.is_(False)
            )
        )


def _loaded_models(engine: ServingEngine) -> set[str]:
    return {model_id for adapters in engine.loaded_bases().values() for model_id in adapters}


def ensure_loaded(settings: Settings, engine: ServingEngine, project: AlignmentProject) -> bool:
    """Return whether ``project``'s model can be served here, loading it first in multi-node mode.

    A model that another node deployed moments ago may be DEPLOYED in the database before the
    sync loop of this node has loaded it. The request that needs it then loads it.
    """
    if engine.is_loaded(project.model_id):
        return True
    if settings.job_backend != "celery" or project.model_status != ModelStatus.DEPLOYED:
        return False
    adapter_dir = settings.project_dir(project.id) / "adapter"
    with _load_lock:
        try:
            engine.load_adapter(project.model_id, project.base_model, adapter_dir)
        except Exception as exc:  # noqa: BLE001 - the caller answers 404; the sync loop retries
            log.error("deploy.sync_load_failed", model_id=project.model_id, alignment_id=project.id,
                      error=f"{type(exc).__name__}: {exc}")
            return False
    log.info("deploy.sync_loaded", model_id=project.model_id, alignment_id=project.id, trigger="request")
    return True


def expire_interrupted_model_tasks(settings: Settings) -> list[str]:
    """Move models stuck in DEPLOYING or UNDEPLOYING longer than the timeout to UNDEPLOYED.

    Return their model ids. The interrupted deploy task ends FAILED. The interrupted undeploy
    task ends COMPLETED, because no node serves the model once every sync loop has seen it UNDEPLOYED.
    """
    cutoff = utcnow() - timedelta(seconds=settings.model_task_timeout_seconds)
    expired = []
    with session_scope(settings) as session:
        projects = ProjectRepository(session)
        tasks = ModelTaskRepository(session)
        for project in projects.list_with_model_status(ModelStatus.DEPLOYING, ModelStatus.UNDEPLOYING):
            kind = DEPLOY if project.model_status == ModelStatus.DEPLOYING else UNDEPLOY
            task = tasks.latest(project.id, kind)
            started = task.start_time if task is not None else None
            if started is not None and started >= cutoff:
                continue
            if not projects.move_model_status(project.id, project.model_status, ModelStatus.UNDEPLOYED,
                                              deployed_at=None):
                continue
            if task is not None and task.status == "PENDING":
                task.end_time = utcnow()
                if kind == DEPLOY:
                    task.status = "FAILED"
                    task.error = (
                        f"The deploy was interrupted: it did not finish within {settings.model_task_timeout_seconds:g} s, "
                        "so its API node probably stopped. Deploy the model again."
                    )
                else:
                    task.status = "COMPLETED"
            expired.append(project.model_id)
            log.warning("deploy.task_expired", model_id=project.model_id, alignment_id=project.id, kind=kind)
    return expired


class ModelSync:
    """Keeps this node's serving engine in step with the models deployed in the database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._sweeper = PeriodicSweeper("alignd-model-sync", self.settings.model_sync_seconds, self.sync_once)
        # Model ids whose load failed, so each failure is logged once until the model changes.
        self._failed_loads: set[str] = set()

    def start(self) -> None:
        self._sweeper.start()
        log.info("deploy.sync_started", interval_seconds=self.settings.model_sync_seconds)

    def stop(self) -> None:
        self._sweeper.stop()

    def sync_once(self) -> None:
        """Run one pass: expire interrupted tasks, then load and unload adapters to match the database."""
        expire_interrupted_model_tasks(self.settings)
        engine = self.runtime.engine
        # Read the engine before the database: a model loaded after this read is never unloaded by this pass.
        loaded = _loaded_models(engine)
        rows = _model_rows(self.settings)

        for row in rows.values():
            if row.status == ModelStatus.DEPLOYED and row.model_id not in loaded:
                self._load(row)
        self._failed_loads &= set(rows)

        for model_id in loaded - set(rows):
            # Check again right before unloading, so a deploy that began after the snapshot keeps its model.
            if _current_status(self.settings, model_id) in (None, ModelStatus.UNDEPLOYED):
                engine.unload_adapter(model_id)
                log.info("deploy.sync_unloaded", model_id=model_id)

    def _load(self, row: _ModelRow) -> None:
        adapter_dir = self.settings.project_dir(row.project_id) / "adapter"
        with _load_lock:
            if _current_status(self.settings, row.model_id) != ModelStatus.DEPLOYED:
                return
            try:
                self.runtime.engine.load_adapter(row.model_id, row.base_model, adapter_dir)
            except Exception as exc:  # noqa: BLE001 - the next pass retries; inference answers 404 until then
                if row.model_id not in self._failed_loads:
                    self._failed_loads.add(row.model_id)
                    log.error("deploy.sync_load_failed", model_id=row.model_id, alignment_id=row.project_id,
                              adapter_dir=str(adapter_dir), error=f"{type(exc).__name__}: {exc}")
                return
        self._failed_loads.discard(row.model_id)
        log.info("deploy.sync_loaded", model_id=row.model_id, alignment_id=row.project_id, trigger="sync")


def start_model_sync(runtime: Runtime) -> ModelSync | None:
    """Start the sync loop in multi-node mode (job_backend 'celery'); return None otherwise."""
    if runtime.settings.job_backend != "celery":
        return None
    sync = ModelSync(runtime)
    sync.start()
    return sync
