"""Permanent removal of a project that is already marked ``deleting``.

Order: stop its jobs, remove its folder, then remove its rows in one transaction. A crash
at any point leaves the row marked ``deleting`` (invisible to every route), and the next
start runs ``finish_pending_deletes`` to complete the purge.
"""

import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from alignd.alignments.repository import ModelTaskRepository, ProjectRepository
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.evaluations.service import delete_for_project as delete_evaluations
from alignd.inference.repository import delete_conversations_for_project
from alignd.jobs.repository import JobRepository
from alignd.jobs.service import stop_jobs_for_target
from alignd.logging import get_logger

log = get_logger(__name__)
audit = get_logger("alignd.audit")


def folder_size(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


def _delete_dependent_rows(session: Session, settings: Settings, project_id: str) -> None:
    """Remove rows that other packages keep for the project."""
    delete_evaluations(session, settings, project_id)
    delete_conversations_for_project(session, project_id)
    ModelTaskRepository(session).delete_for_project(project_id)
    JobRepository(session).delete_for_target(project_id)


def purge_project(settings: Settings, project_id: str, user_id: str) -> int:
    """Stop, then erase everything of a project marked ``deleting``; return the bytes freed."""
    stop_jobs_for_target(settings, project_id)

    project_dir = settings.project_dir(project_id)
    bytes_freed = folder_size(project_dir)
    shutil.rmtree(project_dir, ignore_errors=True)
    if project_dir.exists():
        raise OSError(f"Could not remove the folder of project '{project_id}': {project_dir}")

    with session_scope(settings) as session:
        _delete_dependent_rows(session, settings, project_id)
        ProjectRepository(session).delete_row(project_id)

    audit.info("audit.alignment_deleted", user_id=user_id, alignment_id=project_id, bytes_freed=bytes_freed)
    return bytes_freed


def finish_pending_deletes(settings: Settings) -> None:
    """Complete purges that a crash interrupted; called at every start."""
    with session_scope(settings) as session:
        pending = [(project.id, project.user_id) for project in ProjectRepository(session).list_deleting()]
    for project_id, user_id in pending:
        log.warning("alignment.delete_resumed", alignment_id=project_id, user_id=user_id)
        try:
            purge_project(settings, project_id, user_id)
        except Exception:  # noqa: BLE001 - one stuck purge must not stop the service from starting
            log.exception("alignment.delete_resume_failed", alignment_id=project_id)
