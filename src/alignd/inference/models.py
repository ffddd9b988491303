"""Saved conversations of aligned models, kept when a project enables conversation saving."""

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alignd.db.base import Base, TimestampMixin


class ConversationMessage(TimestampMixin, Base):
    """One message of a conversation with an aligned model: the caller's turn or the model's reply."""

    __tablename__ = "conversation_messages"
    __table_args__ = (Index("ix_conversation_messages_project_session", "project_id", "session_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("alignment_projects.id", ondelete="CASCADE"), nullable=False)
    # The caller's X-Session-ID header, or an id alignd made up when the header was missing.
    session_id: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
