"""Queries for inference: the caller's deployed models, usage counters and saved conversations."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ModelStatus
from alignd.ids import new_id
from alignd.inference.models import ConversationMessage


class InferenceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_deployed(self, user_id: str, model_id: str) -> AlignmentProject | None:
        return self.session.scalar(
            select(AlignmentProject).where(
                AlignmentProject.model_id == model_id,
                AlignmentProject.user_id == user_id,
                AlignmentProject.model_status == ModelStatus.DEPLOYED,
                AlignmentProject.deleting.is_(False),
            )
        )

    def list_deployed(self, user_id: str) -> list[AlignmentProject]:
        return list(
            self.session.scalars(
                select(AlignmentProject)
                .where(
                    AlignmentProject.user_id == user_id,
                    AlignmentProject.model_status == ModelStatus.DEPLOYED,
                    AlignmentProject.deleting.is_(False),
                )
                .order_by(AlignmentProject.created_at.desc(), AlignmentProject.id.desc())
            )
        )

    def project_visible(self, project_id: str) -> bool:
        found = self.session.scalar(
            select(AlignmentProject.id).where(AlignmentProject.id == project_id, AlignmentProject.deleting.is_(False))
        )
        return found is not None

    def record_use(self, project_id: str, used_at: datetime) -> bool:
        """Count one request on the project's model. Return False when the project is gone or being deleted."""
        result = self.session.execute(
            update(AlignmentProject)
            .where(AlignmentProject.id == project_id, AlignmentProject.deleting.is_(False))
            .values(usage_count=AlignmentProject.usage_count + 1, last_used=used_at)
        )
        return result.rowcount == 1

    def add_messages(self, project_id: str, session_id: str, messages: Sequence[tuple[str, str]]) -> None:
        for role, content in messages:
            self.session.add(
                ConversationMessage(
                    id=new_id("msg"), project_id=project_id, session_id=session_id, role=role, content=content
                )
            )
        self.session.flush()

    def list_messages(self, project_id: str, session_id: str | None = None) -> list[ConversationMessage]:
        query = select(ConversationMessage).where(ConversationMessage.project_id == project_id)
        if session_id is not None:
            query = query.where(ConversationMessage.session_id == session_id)
        return list(self.session.scalars(query.order_by(ConversationMessage.created_at, ConversationMessage.id)))


def delete_conversations_for_project(session: Session, project_id: str) -> int:
    """Delete every saved message of the project and return how many rows were deleted."""
    result = session.execute(delete(ConversationMessage).where(ConversationMessage.project_id == project_id))
    session.flush()
    return result.rowcount or 0
