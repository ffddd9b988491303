"""Response bodies of the documents routes."""

from datetime import datetime

from pydantic import BaseModel, Field

from alignd.documents.models import Document, UploadTask


class DocumentOut(BaseModel):
    id: str
    filename: str
    type: str = Field(description="Document type from the file name: txt, md, html, pdf, json or csv.")
    size: int = Field(description="Size of the uploaded file in bytes.")
    upload_date: datetime
    status: str = Field(description="PROCESSING, COMPLETED or FAILED.")
    categories: list[str]
    uploader: str = Field(description="Email address of the user who uploaded the document.")
    processing_progress: float = Field(description="Text extraction progress in percent, 0 to 100.")

    @classmethod
    def from_row(cls, document: Document, uploader: str) -> "DocumentOut":
        return cls(
            id=document.id,
            filename=document.filename,
            type=document.type,
            size=document.size,
            upload_date=document.upload_date,
            status=document.status,
            categories=list(document.categories or []),
            uploader=uploader,
            processing_progress=document.processing_progress,
        )


class CategoryCount(BaseModel):
    name: str
    count: int = Field(description="Number of the caller's documents in this category.")


class DocumentListOut(BaseModel):
    documents: list[DocumentOut]
    categories: list[CategoryCount]


class UploadStatusOut(BaseModel):
    status: str = Field(description="PROCESSING, COMPLETED or FAILED.")
    document_id: str | None
    error: str | None

    @classmethod
    def from_row(cls, task: UploadTask) -> "UploadStatusOut":
        return cls(status=task.status, document_id=task.document_id, error=task.error)


class DeleteDocumentOut(BaseModel):
    document_id: str
    message: str
