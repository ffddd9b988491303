"""Document files on disk: ``documents_dir/<user id>/<document id>/`` contains the original and ``text.txt``.

Files follow the request's transaction: a stored upload is removed again when the
transaction rolls back, and a deleted document's folder is removed only after the commit.
"""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from sqlalchemy import event
from sqlalchemy.orm import Session

from alignd.config import Settings
from alignd.errors import NotFound
from alignd.logging import get_logger

log = get_logger(__name__)

TEXT_FILENAME = "text.txt"
ORIGINAL_STEM = "original"

# Keys in Session.info: folders written or deleted by the open transaction.
_NEW_FOLDERS_KEY = "alignd_new_document_folders"
_DELETED_FOLDERS_KEY = "alignd_deleted_document_folders"
_LISTENING_KEY = "alignd_document_folder_listeners"


def document_dir(settings: Settings, user_id: str, document_id: str) -> Path:
    for part in (user_id, document_id):
        if part in ("", ".", "..") or PurePosixPath(part).name != part or "\\" in part:
            raise ValueError(f"'{part}' cannot be a folder name under the documents folder.")
    return settings.documents_dir / user_id / document_id


def read_text(settings: Settings, user_id: str, document_id: str) -> str:
    """Return the extracted text of a document.

    Raises NotFound (code ``document_not_found``) when the document has no stored text,
    for example because it was deleted after the caller loaded its row.
    """
    try:
        path = document_dir(settings, user_id, document_id) / TEXT_FILENAME
        return path.read_text(encoding="utf-8")
    except (ValueError, FileNotFoundError) as exc:
        raise NotFound(f"Document '{document_id}' not found.", code="document_not_found") from exc


def staging_root(settings: Settings) -> Path:
    """Folder for uploads in flight, beside the documents folder so a move into it is a rename."""
    return settings.documents_dir.parent / "upload-staging"


@contextmanager
def staging_folder(settings: Settings) -> Iterator[Path]:
    """Create a private folder for one request's uploads and remove it with whatever is left in it."""
    root = staging_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def store_document(
    session: Session,
    settings: Settings,
    *,
    user_id: str,
    document_id: str,
    original: Path,
    suffix: str,
    text_file: Path,
) -> Path:
    """Move an upload and the file of its extracted text into the document's folder.

    The folder is removed again if the session's transaction rolls back.
    """
    folder = document_dir(settings, user_id, document_id)
    _track_folder(session, _NEW_FOLDERS_KEY, folder)
    folder.mkdir(parents=True)
    shutil.move(original, folder / f"{ORIGINAL_STEM}{suffix}")
    shutil.move(text_file, folder / TEXT_FILENAME)
    return folder


def remove_after_commit(session: Session, settings: Settings, user_id: str, document_id: str) -> None:
    """Remove a document's folder once the session commits, so a rolled-back delete keeps the files."""
    _track_folder(session, _DELETED_FOLDERS_KEY, document_dir(settings, user_id, document_id))


def _track_folder(session: Session, key: str, folder: Path) -> None:
    if not session.info.get(_LISTENING_KEY):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
        session.info[_LISTENING_KEY] = True
    session.info.setdefault(key, []).append(folder)


def _after_commit(session: Session) -> None:
    session.info.pop(_NEW_FOLDERS_KEY, None)
    # NOTE: a crash between the commit and this removal leaves the folder behind without a row.
    for folder in session.info.pop(_DELETED_FOLDERS_KEY, []):
        shutil.rmtree(folder, ignore_errors=True)


def _after_rollback(session: Session) -> None:
    session.info.pop(_DELETED_FOLDERS_KEY, None)
    for folder in session.info.pop(_NEW_FOLDERS_KEY, []):
        shutil.rmtree(folder, ignore_errors=True)
        log.info("documents.upload_rolled_back", document_id=folder.name)
