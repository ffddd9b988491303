"""Model states that a dead API node leaves behind, on PostgreSQL: expiry and restore."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alignd.alignments.models import AlignmentProject, ModelStatus, ModelTask, ProjectStatus
from alignd.alignments.repository import ProjectRepository
from alignd.auth.models import User
from alignd.auth.service import create_key
from alignd.config import Settings
from alignd.db.engine import dispose_engines, session_factory, session_scope
from alignd.db.migrate import upgrade_database
from alignd.deployments.reconcile import expire_interrupted_model_tasks
from alignd.deployments.service import DEPLOY, UNDEPLOY, restore_deployments
from alignd.ids import new_id
from alignd.jobs.backend import EmbeddedJobBackend
from alignd.runtime import Runtime
from alignd.serving.factory import build_engine
from alignd.timeutil import utcnow
from pg import require_postgres, temporary_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    require_postgres()
    with temporary_database() as url:
        settings = Settings(home=tmp_path / "home", database_url=url, job_backend="celery",
                            model_task_timeout_seconds=600)
        upgrade_database(settings)
        with session_scope(settings) as session:
            create_key(session, "states@example.com")
        yield settings
        dispose_engines()


def _model(settings: Settings, status: str, task_kind: str | None, task_age_seconds: float = 0) -> str:
    """Create a READY project whose model has ``status`` and, optionally, a PENDING task of that age."""
    project_id = new_id("alignment")
    with session_scope(settings) as session:
        user_id = session.scalars(select(User.id)).one()
        session.add(AlignmentProject(
            id=project_id, user_id=user_id, name="states", base_model="tiny-random-llama",
            model_id=f"model_states_{project_id.lower()}", status=ProjectStatus.READY, model_status=status,
            documents=[]))
        session.flush()
        if task_kind is not None:
            session.add(ModelTask(
                id=new_id(task_kind), project_id=project_id, model_id=f"model_states_{project_id.lower()}",
                kind=task_kind, status="PENDING", start_time=utcnow() - timedelta(seconds=task_age_seconds)))
    return project_id


def _state(settings: Settings, project_id: str) -> tuple[str, str | None, str | None]:
    """Return the model status and the status and error of its latest task."""
    with session_scope(settings) as session:
        project = session.get(AlignmentProject, project_id)
        task = session.scalars(select(ModelTask).where(ModelTask.project_id == project_id)).first()
        return project.model_status, task.status if task else None, task.error if task else None


def _runtime(settings: Settings) -> Runtime:
    return Runtime(settings=settings, session_factory=session_factory(settings),
                   jobs=EmbeddedJobBackend(settings), engine=build_engine(settings))


def test_stale_deploy_expires_to_undeployed(pg_settings: Settings) -> None:
    project_id = _model(pg_settings, ModelStatus.DEPLOYING, DEPLOY, task_age_seconds=3600)
    expire_interrupted_model_tasks(pg_settings)
    status, task_status, error = _state(pg_settings, project_id)
    assert status == ModelStatus.UNDEPLOYED
    assert task_status == "FAILED"
    assert "interrupted" in error


def test_recent_deploy_does_not_expire(pg_settings: Settings) -> None:
    project_id = _model(pg_settings, ModelStatus.DEPLOYING, DEPLOY, task_age_seconds=5)
    assert expire_interrupted_model_tasks(pg_settings) == []
    assert _state(pg_settings, project_id) == (ModelStatus.DEPLOYING, "PENDING", None)


def test_stale_undeploy_expires_completed(pg_settings: Settings) -> None:
    project_id = _model(pg_settings, ModelStatus.UNDEPLOYING, UNDEPLOY, task_age_seconds=3600)
    expire_interrupted_model_tasks(pg_settings)
    assert _state(pg_settings, project_id) == (ModelStatus.UNDEPLOYED, "COMPLETED", None)


def test_expired_model_unblocks_delete(pg_settings: Settings) -> None:
    project_id = _model(pg_settings, ModelStatus.DEPLOYING, DEPLOY, task_age_seconds=3600)
    expire_interrupted_model_tasks(pg_settings)
    with session_scope(pg_settings) as session:
        assert ProjectRepository(session).begin_delete(project_id)


def test_restore_keeps_deployed_model_in_cluster(pg_settings: Settings) -> None:
    # No adapter exists, so this node cannot load the model; other nodes may still serve it.
    project_id = _model(pg_settings, ModelStatus.DEPLOYED, None)
    runtime = _runtime(pg_settings)
    try:
        restore_deployments(runtime)
    finally:
        runtime.engine.shutdown()
    assert _state(pg_settings, project_id)[0] == ModelStatus.DEPLOYED


def test_restore_fails_interrupted_deploy_task(pg_settings: Settings) -> None:
    project_id = _model(pg_settings, ModelStatus.DEPLOYING, DEPLOY)
    runtime = _runtime(pg_settings)
    try:
        restore_deployments(runtime)
    finally:
        runtime.engine.shutdown()
    status, task_status, error = _state(pg_settings, project_id)
    assert status == ModelStatus.UNDEPLOYED
    assert task_status == "FAILED"
    assert "adapter_config.json" in error


def test_restore_completes_interrupted_undeploy_task(pg_settings: Settings) -> None:
    project_id = _model(pg_settings, ModelStatus.UNDEPLOYING, UNDEPLOY)
    runtime = _runtime(pg_settings)
    try:
        restore_deployments(runtime)
    finally:
        runtime.engine.shutdown()
    assert _state(pg_settings, project_id) == (ModelStatus.UNDEPLOYED, "COMPLETED", None)
