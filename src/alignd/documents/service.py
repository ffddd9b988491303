"""Uploading, listing and deleting documents."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from alignd.auth.models import User
from alignd.config import Settings
from alignd.documents import storage
from alignd.documents.extraction import extract_text
from alignd.documents.filetypes import FileKind, check_content_matches, kind_from_filename
from alignd.documents.models import Document, DocumentStatus, UploadStatus, UploadTask
from alignd.documents.repository import DocumentRepository
from alignd.documents.upload_stream import StagedFile, UploadForm
from alignd.errors import BadRequest
from alignd.ids import new_id
from alignd.logging import get_logger
from alignd.timeutil import utcnow

log = get_logger(__name__)

_CONTENT_HEAD_BYTES = 1024


@dataclass(frozen=True)
class PreparedFile:
    """An uploaded file that passed every check, with its extracted text in a staged file."""

    staged: StagedFile
    kind: FileKind
    text_path: Path
    text_chars: int

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.staged.filename).suffix.lower()


@dataclass(frozen=True)
class DocumentListing:
    documents: list[Document]
    category_counts: list[tuple[str, int]]


def prepare_file(staged: StagedFile) -> PreparedFile:
    """Check one uploaded file and extract its text. Raises a 4xx error that names the file."""
    if staged.size == 0:
        raise BadRequest(f"File '{staged.filename}' is empty. Upload a file with content.", code="empty_file")

    kind = kind_from_filename(staged.filename)
    with staged.path.open("rb") as handle:
        head = handle.read(_CONTENT_HEAD_BYTES)
    check_content_matches(kind, staged.filename, head)
    text = extract_text(kind, staged.path, staged.filename)

    # The text waits on disk, so a request with many large files holds one text in memory at a time.
    text_path = staged.path.with_name(f"{staged.path.name}.txt")
    text_path.write_text(text, encoding="utf-8")
    return PreparedFile(staged=staged, kind=kind, text_path=text_path, text_chars=len(text))


def upload(session: Session, settings: Settings, user: User, form: UploadForm) -> list[UploadTask]:
    """Store every file of one upload as a document, or none of them when one is rejected.

    Text extraction runs here, so each returned upload task is already COMPLETED.
    """
    prepared = [prepare_file(staged) for staged in form.files]

    repo = DocumentRepository(session)
    tasks = []
    for item in prepared:
        document = Document(
            id=new_id("doc"),
            user_id=user.id,
            filename=item.staged.filename,
            type=item.kind.value,
            size=item.staged.size,
            status=DocumentStatus.COMPLETED,
            categories=list(form.categories),
            processing_progress=100.0,
            text_chars=item.text_chars,
            upload_date=utcnow(),
        )
        task = UploadTask(
            id=new_id("upload"),
            user_id=user.id,
            document_id=document.id,
            filename=item.staged.filename,
            status=UploadStatus.COMPLETED,
        )
        repo.add(document)
        repo.add(task)
        storage.store_document(
            session,
            settings,
            user_id=user.id,
            document_id=document.id,
            original=item.staged.path,
            suffix=item.suffix,
            text_file=item.text_path,
        )
        tasks.append(task)
        log.info(
            "documents.uploaded",
            document_id=document.id,
            task_id=task.id,
            user_id=user.id,
            type=document.type,
            size=document.size,
            text_chars=document.text_chars,
        )

    session.flush()
    return tasks


def list_documents(session: Session, user: User) -> DocumentListing:
    """Return the user's documents, newest first, and how many of them each category has."""
    documents = DocumentRepository(session).list_for_user(user.id)
    counts = Counter(name for document in documents for name in document.categories or [])
    return DocumentListing(documents=documents, category_counts=sorted(counts.items()))


def delete(session: Session, settings: Settings, document: Document) -> None:
    """Delete the document row now and its files once the transaction commits.

    Alignment projects are not touched: each keeps the text it copied when it was created.
    """
    DocumentRepository(session).delete(document)
    storage.remove_after_commit(session, settings, document.user_id, document.id)
    session.flush()
    log.info("documents.deleted", document_id=document.id, user_id=document.user_id)
