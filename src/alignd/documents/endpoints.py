"""HTTP routes of documents: upload, upload status, list and delete."""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from alignd.auth.dependencies import CurrentUser
from alignd.db.dependencies import DbSession
from alignd.documents import service
from alignd.documents.dependencies import OwnedDocument, OwnedUploadTask, RequestSettings
from alignd.documents.filetypes import SUPPORTED_EXTENSIONS
from alignd.documents.schemas import (
    CategoryCount,
    DeleteDocumentOut,
    DocumentListOut,
    DocumentOut,
    UploadStatusOut,
)
from alignd.documents.storage import staging_folder
from alignd.documents.upload_stream import CATEGORIES_FIELD, FILES_FIELD, read_upload_form
from alignd.errors import AlignError
from alignd.logging import get_logger

log = get_logger(__name__)

router = APIRouter()

# The upload route reads the multipart stream itself, so FastAPI cannot derive this schema.
_UPLOAD_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILES_FIELD],
                    "properties": {
                        FILES_FIELD: {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"One or more documents. Supported extensions: {SUPPORTED_EXTENSIONS}.",
                        },
                        CATEGORIES_FIELD: {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Category names for every file: repeated fields, "
                            "comma-separated names, or both.",
                        },
                    },
                }
            }
        },
    }
}


@router.post("", response_model=list[str], openapi_extra=_UPLOAD_REQUEST_BODY)
async def upload_documents(
    request: Request, user: CurrentUser, session: DbSession, settings: RequestSettings
) -> list[str]:
    """Upload documents and return one upload task id per file, in the order of the files."""
    try:
        with staging_folder(settings) as folder:
            form = await read_upload_form(request, folder, settings.max_upload_bytes)
            tasks = await run_in_threadpool(service.upload, session, settings, user, form)
    except AlignError as exc:
        log.info("documents.upload_rejected", user_id=user.id, code=exc.code, status=exc.status_code)
        raise
    return [task.id for task in tasks]


@router.get("/upload-status/{task_id}", response_model=UploadStatusOut)
def get_upload_status(task: OwnedUploadTask) -> UploadStatusOut:
    return UploadStatusOut.from_row(task)


@router.get("", response_model=DocumentListOut)
def list_documents(user: CurrentUser, session: DbSession) -> DocumentListOut:
    listing = service.list_documents(session, user)
    return DocumentListOut(
        documents=[DocumentOut.from_row(document, uploader=user.email) for document in listing.documents],
        categories=[CategoryCount(name=name, count=count) for name, count in listing.category_counts],
    )


@router.delete("/{document_id}", response_model=DeleteDocumentOut)
def delete_document(document: OwnedDocument, session: DbSession, settings: RequestSettings) -> DeleteDocumentOut:
    service.delete(session, settings, document)
    return DeleteDocumentOut(document_id=document.id, message="Document successfully deleted")
