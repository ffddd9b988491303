"""Dependencies that load the caller's project or raise the shared 404."""

from typing import Annotated

from fastapi import Depends

from alignd.alignments.models import AlignmentProject
from alignd.alignments.service import get_project
from alignd.auth.dependencies import CurrentUser
from alignd.db.dependencies import DbSession


def owned_project(project_id: str, user: CurrentUser, session: DbSession) -> AlignmentProject:
    return get_project(session, user, project_id)


OwnedProject = Annotated[AlignmentProject, Depends(owned_project)]
