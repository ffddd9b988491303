"""Dependencies that load the caller's evaluation or raise the shared 404."""

from typing import Annotated

from fastapi import Depends

from alignd.auth.dependencies import CurrentUser
from alignd.db.dependencies import DbSession
from alignd.evaluations import service
from alignd.evaluations.models import Evaluation


def owned_evaluation(evaluation_id: str, user: CurrentUser, session: DbSession) -> Evaluation:
    return service.get(session, user, evaluation_id)


OwnedEvaluation = Annotated[Evaluation, Depends(owned_evaluation)]
