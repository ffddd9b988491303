"""Deploy and undeploy of aligned models into this process's serving engine.

Model status moves UNDEPLOYED -> DEPLOYING -> DEPLOYED -> UNDEPLOYING -> UNDEPLOYED, each
step a compare-and-set (see ProjectRepository.move_model_status), so a deploy racing a
delete ends either deployed and not deleted, or deleted and never deployed.
"""

import threading

from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ModelStatus, ModelTask, ProjectStatus
from alignd.alignments.repository import ModelTaskRepository, ProjectRepository
from alignd.auth.models import User
from alignd.db.engine import session_scope
from alignd.errors import BadRequest, NotFound
from alignd.ids import new_id
from alignd.logging import get_logger
from alignd.runtime import Runtime
from alignd.timeutil import utcnow

log = get_logger(__name__)

DEPLOY = "deploy"
UNDEPLOY = "undeploy"


class ModelNotFound(NotFound):
    code = "model_not_found"


class TaskNotFound(NotFound):
    code = "task_not_found"


def endpoint_url(model_id: str) -> str:
    return f"/api/v3/inference/chat/completions#model={model_id}"


def get_aligned_model(session: Session, user: User, model_id: str) -> AlignmentProject:
    project = ProjectRepository(session).get_by_model_id(user.id, model_id)
    if project is None:
        raise ModelNotFound(f"Aligned model '{model_id}' not found.")
    return project


def _raise_unless_deployable(project: AlignmentProject) -> None:
    if project.model_status in (ModelStatus.DEPLOYED, ModelStatus.DEPLOYING):
        raise BadRequest(f"Model '{project.model_id}' is already {project.model_status}.", code="model_already_deployed")
    if project.model_status == ModelStatus.UNDEPLOYING:
        raise BadRequest(
            f"Model '{project.model_id}' is being undeployed; wait for the undeploy to finish.",
            code="undeploy_in_progress",
        )
    if project.status != ProjectStatus.READY:
        raise BadRequest(
            f"Model '{project.model_id}' cannot be deployed: its alignment project is {project.status}, not READY.",
            code="alignment_not_ready",
        )


def deploy(runtime: Runtime, user: User, model_id: str) -> str:
    """Claim the model for deploying and load it on a background thread; return the task id."""
    settings = runtime.settings
    with session_scope(settings) as session:
        project = get_aligned_model(session, user, model_id)
        _raise_unless_deployable(project)
        repo = ProjectRepository(session)
        if not repo.move_model_status(project.id, ModelStatus.UNDEPLOYED, ModelStatus.DEPLOYING):
            session.expire_all()
            current = get_aligned_model(session, user, model_id)
            _raise_unless_deployable(current)
            raise BadRequest(f"Model '{model_id}' changed state; try again.", code="model_state_changed")
        task = ModelTask(id=new_id("deploy"), project_id=project.id, model_id=model_id, kind=DEPLOY,
                         status="PENDING", start_time=utcnow())
        ModelTaskRepository(session).add(task)
        project_id, base_model, task_id = project.id, project.base_model, task.id

    log.info("deploy.started", model_id=model_id, alignment_id=project_id, task_id=task_id)
    thread = threading.Thread(
        target=_load_model, args=(runtime, project_id, model_id, base_model, task_id), daemon=True,
        name=f"alignd-deploy-{project_id}",
    )
    thread.start()
    return task_id


def _load_model(runtime: Runtime, project_id: str, model_id: str, base_model: str, task_id: str) -> None:
    settings = runtime.settings
    try:
        runtime.engine.load_adapter(model_id, base_model, settings.project_dir(project_id) / "adapter")
    except Exception as exc:  # noqa: BLE001 - any load failure fails the task, with its message
        error = f"{type(exc).__name__}: {exc}"
        with session_scope(settings) as session:
            ProjectRepository(session).move_model_status(project_id, ModelStatus.DEPLOYING, ModelStatus.UNDEPLOYED)
            _finish_task(session, task_id, "FAILED", error=error)
        log.error("deploy.failed", model_id=model_id, alignment_id=project_id, task_id=task_id, error=error)
        return

    with session_scope(settings) as session:
        repo = ProjectRepository(session)
        moved = repo.move_model_status(project_id, ModelStatus.DEPLOYING, ModelStatus.DEPLOYED, deployed_at=utcnow())
        # In multi-node mode another node may have finished this deploy (a restart) or expired it.
        current = repo.get_visible(project_id)
        deployed = moved or (current is not None and current.model_status == ModelStatus.DEPLOYED)
        if deployed:
            _finish_task(session, task_id, "COMPLETED", endpoint=endpoint_url(model_id))
        else:
            _finish_task(session, task_id, "FAILED",
                         error="The deploy was interrupted: the model left the DEPLOYING state while it loaded.")
    if not deployed:
        runtime.engine.unload_adapter(model_id)
        log.error("deploy.interrupted", model_id=model_id, alignment_id=project_id, task_id=task_id)
        return
    log.info("deploy.completed", model_id=model_id, alignment_id=project_id, task_id=task_id)


def _finish_task(session: Session, task_id: str, status: str, error: str | None = None,
                 endpoint: str | None = None) -> None:
    task = ModelTaskRepository(session).get(task_id)
    if task is None:
        return
    task.status = status
    task.error = error
    task.endpoint_url = endpoint
    task.end_time = utcnow()


def undeploy(runtime: Runtime, user: User, model_id: str) -> str:
    """Unload the model from the engine; returns once it is out of memory."""
    settings = runtime.settings
    with session_scope(settings) as session:
        project = get_aligned_model(session, user, model_id)
        _raise_unless_undeployable(project)
        if not ProjectRepository(session).move_model_status(project.id, ModelStatus.DEPLOYED, ModelStatus.UNDEPLOYING):
            session.expire_all()
            _raise_unless_undeployable(get_aligned_model(session, user, model_id))
            raise BadRequest(f"Model '{model_id}' changed state; try again.", code="model_state_changed")
        task = ModelTask(id=new_id("undeploy"), project_id=project.id, model_id=model_id, kind=UNDEPLOY,
                         status="PENDING", start_time=utcnow())
        ModelTaskRepository(session).add(task)
        project_id, task_id = project.id, task.id

    log.info("undeploy.started", model_id=model_id, alignment_id=project_id, task_id=task_id)
    try:
        runtime.engine.unload_adapter(model_id)
    except Exception as exc:  # noqa: BLE001 - the task records the failure
        error = f"{type(exc).__name__}: {exc}"
        still_loaded = runtime.engine.is_loaded(model_id)
        back_to = ModelStatus.DEPLOYED if still_loaded else ModelStatus.UNDEPLOYED
        with session_scope(settings) as session:
            ProjectRepository(session).move_model_status(project_id, ModelStatus.UNDEPLOYING, back_to)
            _finish_task(session, task_id, "FAILED", error=error)
        log.error("undeploy.failed", model_id=model_id, alignment_id=project_id, error=error)
        return task_id

    with session_scope(settings) as session:
        ProjectRepository(session).move_model_status(
            project_id, ModelStatus.UNDEPLOYING, ModelStatus.UNDEPLOYED, deployed_at=None
        )
        _finish_task(session, task_id, "COMPLETED")
    log.info("undeploy.completed", model_id=model_id, alignment_id=project_id, task_id=task_id)
    return task_id


def _raise_unless_undeployable(project: AlignmentProject) -> None:
    if project.model_status == ModelStatus.UNDEPLOYED:
        raise BadRequest(f"Model '{project.model_id}' is not deployed.", code="model_not_deployed")
    if project.model_status == ModelStatus.DEPLOYING:
        raise BadRequest(
            f"Model '{project.model_id}' is still deploying; wait for the deploy to finish, then undeploy.",
            code="deploy_in_progress",
        )
    if project.model_status == ModelStatus.UNDEPLOYING:
        raise BadRequest(f"Model '{project.model_id}' is already being undeployed.", code="undeploy_in_progress")


def task_status(session: Session, user: User, model_id: str, kind: str) -> ModelTask:
    project = get_aligned_model(session, user, model_id)
    task = ModelTaskRepository(session).latest(project.id, kind)
    if task is None:
        raise TaskNotFound(f"No {kind} task exists for model '{model_id}'.")
    return task


def restore_deployments(runtime: Runtime) -> None:
    """Reload the models that were deployed when the process stopped."""
    settings = runtime.settings
    with session_scope(settings) as session:
        repo = ProjectRepository(session)
        for project in repo.list_with_model_status(ModelStatus.UNDEPLOYING):
            if repo.move_model_status(project.id, ModelStatus.UNDEPLOYING, ModelStatus.UNDEPLOYED):
                _finish_pending_task(session, project.id, UNDEPLOY, "COMPLETED")
        to_load = [
            (p.id, p.model_id, p.base_model, p.model_status)
            for p in repo.list_with_model_status(ModelStatus.DEPLOYED, ModelStatus.DEPLOYING)
        ]
    for project_id, model_id, base_model, status in to_load:
        error = None
        try:
            runtime.engine.load_adapter(model_id, base_model, settings.project_dir(project_id) / "adapter")
            new_status = ModelStatus.DEPLOYED
        except Exception as exc:  # noqa: BLE001 - a model that cannot be reloaded is left undeployed
            log.exception("deploy.restore_failed", model_id=model_id, alignment_id=project_id)
            # In multi-node mode other API nodes may serve the model; the sync loop retries the load here.
            if settings.job_backend == "celery" and status == ModelStatus.DEPLOYED:
                continue
            new_status = ModelStatus.UNDEPLOYED
            error = f"{type(exc).__name__}: {exc}"
        with session_scope(settings) as session:
            moved = ProjectRepository(session).move_model_status(project_id, status, new_status)
            if moved and status == ModelStatus.DEPLOYING:
                if error is None:
                    _finish_pending_task(session, project_id, DEPLOY, "COMPLETED", endpoint=endpoint_url(model_id))
                else:
                    _finish_pending_task(session, project_id, DEPLOY, "FAILED", error=error)
        log.info("deploy.restored", model_id=model_id, alignment_id=project_id, status=new_status)


def _finish_pending_task(session: Session, project_id: str, kind: str, status: str, error: str | None = None,
                         endpoint: str | None = None) -> None:
    """End the model's latest task of ``kind`` when it is still PENDING, as after a restart."""
    task = ModelTaskRepository(session).latest(project_id, kind)
    if task is not None and task.status == "PENDING":
        _finish_task(session, task.id, status, error=error, endpoint=endpoint)
