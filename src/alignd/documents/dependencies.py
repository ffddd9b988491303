"""FastAPI dependencies that load a document or upload task owned by the caller."""

from typing import Annotated

from fastapi import Depends, Request

from alignd.auth.dependencies import CurrentUser
from alignd.config import Settings
from alignd.db.dependencies import DbSession
from alignd.documents.models import Document, UploadTask
from alignd.documents.repository import DocumentRepository
from alignd.errors import NotFound
from alignd.runtime import get_runtime


def get_request_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def get_owned_document(document_id: str, user: CurrentUser, session: DbSession) -> Document:
    """Load the caller's document. A missing and a foreign id get the same 404."""
    document = DocumentRepository(session).get_for_user(user.id, document_id)
    if document is None:
        raise NotFound(f"Document '{document_id}' not found.", code="document_not_found")
    return document


def get_owned_upload_task(task_id: str, user: CurrentUser, session: DbSession) -> UploadTask:
    """Load the caller's upload task. A missing and a foreign id get the same 404."""
    task = DocumentRepository(session).get_upload_task_for_user(user.id, task_id)
    if task is None:
        raise NotFound(f"Upload task '{task_id}' not found.", code="upload_task_not_found")
    return task


RequestSettings = Annotated[Settings, Depends(get_request_settings)]
OwnedDocument = Annotated[Document, Depends(get_owned_document)]
OwnedUploadTask = Annotated[UploadTask, Depends(get_owned_upload_task)]
