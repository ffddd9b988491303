"""Queries on documents and upload tasks."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignd.documents.models import Document, UploadTask

# Longer than any id the service creates. A longer id from a path cannot match, so it is not queried.
_MAX_ID_CHARS = 40


def _is_queryable_id(value: str) -> bool:
    # PostgreSQL rejects NUL characters in text parameters, so such an id would fail the query.
    return 0 < len(value) <= _MAX_ID_CHARS and "\x00" not in value


class DocumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_for_user(self, user_id: str, document_id: str) -> Document | None:
        """Return the user's document with exactly this id, or None when it is missing or foreign."""
        if not _is_queryable_id(document_id):
            return None
        return self.session.scalar(
            select(Document).where(Document.id == document_id, Document.user_id == user_id)
        )

    def list_for_user(self, user_id: str) -> list[Document]:
        """Return the user's documents, newest upload first."""
        rows = self.session.scalars(
            select(Document)
            .where(Document.user_id == user_id)
            .order_by(Document.upload_date.desc(), Document.id.desc())
        )
        return list(rows)

    def get_upload_task_for_user(self, user_id: str, task_id: str) -> UploadTask | None:
        if not _is_queryable_id(task_id):
            return None
        return self.session.scalar(
            select(UploadTask).where(UploadTask.id == task_id, UploadTask.user_id == user_id)
        )

    def add(self, row: Document | UploadTask) -> None:
        self.session.add(row)

    def delete(self, document: Document) -> None:
        self.session.delete(document)
