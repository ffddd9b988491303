"""The delete guard: who may delete a project, and when."""

from alignd.alignments.models import ModelStatus
from alignd.alignments.purge import purge_project
from alignd.alignments.repository import ProjectRepository
from alignd.alignments.service import ProjectNotFound
from alignd.auth.models import User
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.errors import BadRequest
from alignd.logging import get_logger

log = get_logger(__name__)


class AlignmentDeployed(BadRequest):
    code = "alignment_deployed"


class UndeployInProgress(BadRequest):
    code = "undeploy_in_progress"


def delete_project(settings: Settings, user: User, project_id: str) -> None:
    """Delete a project for good; returns only once everything of it is gone.

    The guard commits on its own before the purge, so a concurrent deploy sees the
    project as deleting and a concurrent delete gets 404.
    """
    with session_scope(settings) as session:
        repo = ProjectRepository(session)
        project = repo.get_for_user(user.id, project_id)
        if project is None:
            raise ProjectNotFound(f"Alignment project '{project_id}' not found.")
        if not repo.begin_delete(project_id):
            session.expire_all()
            current = repo.get_for_user(user.id, project_id)
            if current is None:
                raise ProjectNotFound(f"Alignment project '{project_id}' not found.")
            _raise_guard_error(project_id, current.model_id, current.model_status)
    log.info("alignment.delete_started", alignment_id=project_id, user_id=user.id)
    purge_project(settings, project_id, user.id)


def _raise_guard_error(project_id: str, model_id: str, model_status: str) -> None:
    if model_status == ModelStatus.DEPLOYING:
        raise AlignmentDeployed(
            f"Alignment project '{project_id}' cannot be deleted while its model '{model_id}' is DEPLOYING. "
            "Wait for the deploy to finish, undeploy the model, then delete the project."
        )
    if model_status == ModelStatus.DEPLOYED:
        raise AlignmentDeployed(
            f"Alignment project '{project_id}' cannot be deleted while its model '{model_id}' is DEPLOYED. "
            "Undeploy the model first, then delete the project."
        )
    raise UndeployInProgress(
        f"Alignment project '{project_id}' cannot be deleted while its model '{model_id}' is being "
        "undeployed. Wait for the undeploy to finish, then delete the project."
    )
