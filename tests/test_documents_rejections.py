"""Documents: rejected uploads name the file and store nothing of the request."""

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfWriter
from sqlalchemy.orm import Session

from alignd.auth.models import User
from alignd.auth.service import create_key
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.db.migrate import upgrade_database
from alignd.documents import service
from alignd.documents.models import Document
from alignd.documents.repository import DocumentRepository
from alignd.documents.storage import staging_root
from alignd.documents.upload_stream import MAX_FILES_PER_REQUEST, StagedFile, UploadForm

DOCUMENTS = "/api/v3/documents"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
TEXT_PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def upload(client: TestClient, auth: dict[str, str], *files: tuple[str, bytes], data=None):
    return client.post(
        DOCUMENTS, headers=auth, files=[("files", (name, content)) for name, content in files], data=data
    )


def assert_nothing_stored(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    assert client.get(DOCUMENTS, headers=auth).json() == {"documents": [], "categories": []}
    assert list(settings.documents_dir.iterdir()) == []
    assert list(staging_root(settings).iterdir()) == []


# Each rejection names the file

# (file name, content, status, code)
REJECTED_FILES = [
    ("empty.txt", b"", 400, "empty_file"),
    ("image.txt", PNG_HEADER, 400, "binary_file"),
    ("controls.md", bytes(range(1, 32)) * 20, 400, "binary_file"),
    ("report.docx", b"PK\x03\x04 pretend office file", 415, "unsupported_file_type"),
    ("README", b"plain words", 415, "unsupported_file_type"),
    ("fake.pdf", b"just some words, no PDF header", 415, "unsupported_file_type"),
    ("renamed.txt", TEXT_PDF, 415, "unsupported_file_type"),
    ("scan.pdf", blank_pdf(), 400, "no_extractable_text"),
    ("broken.pdf", b"%PDF-1.4\nthis is not a PDF body\n%%EOF\n", 400, "invalid_file_content"),
    ("bad.json", b'{"a": 1,,}', 400, "invalid_file_content"),
    ("blank.txt", b"   \n\t\n  ", 400, "no_extractable_text"),
    ("scripts.html", b"<html><script>run()</script><style>p{}</style></html>", 400, "no_extractable_text"),
    ("empty.json", b"{}", 400, "no_extractable_text"),
]


@pytest.mark.parametrize(("filename", "content", "status", "code"), REJECTED_FILES)
def test_rejected_file_is_named(client, auth, filename: str, content: bytes, status: int, code: str) -> None:
    response = upload(client, auth, (filename, content))

    assert response.status_code == status
    assert response.json()["code"] == code
    assert f"'{filename}'" in response.json()["detail"]


def test_invalid_json_names_line_and_column(client, auth) -> None:
    response = upload(client, auth, ("bad.json", b'{\n  "a": 1,\n  oops\n}'))

    assert response.status_code == 400
    assert "line 3 column 3" in response.json()["detail"]


def test_unsupported_type_lists_supported_extensions(client, auth) -> None:
    response = upload(client, auth, ("sheet.xlsx", b"PK\x03\x04"))

    assert response.status_code == 415
    assert ".xlsx" in response.json()["detail"]
    assert ".pdf" in response.json()["detail"]


# Size limits


def test_file_over_limit_is_413_naming_file(client, auth, settings) -> None:
    settings.max_upload_bytes = 1000

    response = upload(client, auth, ("big.txt", b"a" * 1001))

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "'big.txt'" in response.json()["detail"]
    assert "1000 bytes" in response.json()["detail"]


def test_file_at_limit_is_accepted(client, auth, settings) -> None:
    settings.max_upload_bytes = 1000

    response = upload(client, auth, ("exact.txt", b"a" * 1000))

    assert response.status_code == 200


def test_second_file_over_limit_is_named(client, auth, settings) -> None:
    settings.max_upload_bytes = 1000

    response = upload(client, auth, ("small.txt", b"a" * 10), ("large.txt", b"b" * 5000))

    assert response.status_code == 413
    assert "'large.txt'" in response.json()["detail"]
    assert_nothing_stored(client, auth, settings)


def test_declared_length_over_limit_is_413_before_reading(client, auth, settings) -> None:
    settings.max_upload_bytes = 1000

    response = client.post(
        DOCUMENTS,
        headers={**auth, "Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(10**12)},
        content=b"--xyz--\r\n",
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_too_many_files_rejected(client, auth, settings) -> None:
    files = [(f"f{index}.txt", b"text") for index in range(MAX_FILES_PER_REQUEST + 1)]

    response = upload(client, auth, *files)

    assert response.status_code == 400
    assert response.json()["code"] == "too_many_files"
    assert_nothing_stored(client, auth, settings)


# Nothing of a rejected request is stored


@pytest.mark.parametrize(("filename", "content", "status", "code"), REJECTED_FILES)
@pytest.mark.parametrize("bad_first", [True, False])
def test_rejected_request_stores_nothing(
    client, auth, settings, filename: str, content: bytes, status: int, code: str, bad_first: bool
) -> None:
    good = [("good.txt", b"good text"), ("good.md", b"# good")]
    files = [(filename, content), *good] if bad_first else [*good, (filename, content)]

    response = upload(client, auth, *files, data={"categories": "legal"})

    assert response.status_code == status
    assert_nothing_stored(client, auth, settings)


def test_rejected_request_leaves_earlier_documents(client, auth, settings) -> None:
    assert upload(client, auth, ("kept.txt", b"kept")).status_code == 200

    upload(client, auth, ("new.txt", b"new"), ("empty.txt", b""))

    filenames = [document["filename"] for document in client.get(DOCUMENTS, headers=auth).json()["documents"]]
    assert filenames == ["kept.txt"]
    (user_folder,) = settings.documents_dir.iterdir()
    assert len(list(user_folder.iterdir())) == 1


@pytest.fixture
def database(settings: Settings) -> Settings:
    """The settings of a migrated database, for tests that call the service without the app."""
    settings.ensure_dirs()
    upgrade_database(settings)
    return settings


def make_user(session: Session) -> User:
    created = create_key(session, "carol@example.com")
    return session.get(User, created.user_id)


def test_rolled_back_upload_removes_files(database: Settings, tmp_path: Path) -> None:
    settings = database
    staged_path = tmp_path / "part-0"
    staged_path.write_bytes(b"some text")
    form = UploadForm(files=[StagedFile(filename="a.txt", path=staged_path, size=9)])

    with pytest.raises(RuntimeError), session_scope(settings) as session:
        user = make_user(session)
        service.upload(session, settings, user, form)
        assert len(list(settings.documents_dir.rglob("text.txt"))) == 1
        raise RuntimeError("fail the transaction after the upload")

    assert list(settings.documents_dir.rglob("*.txt")) == []


def test_rolled_back_delete_keeps_files(database: Settings, tmp_path: Path) -> None:
    settings = database
    staged_path = tmp_path / "part-0"
    staged_path.write_bytes(b"some text")
    form = UploadForm(files=[StagedFile(filename="a.txt", path=staged_path, size=9)])
    with session_scope(settings) as session:
        user = make_user(session)
        (task,) = service.upload(session, settings, user, form)
        user_id, document_id = user.id, task.document_id

    with pytest.raises(RuntimeError), session_scope(settings) as session:
        document = DocumentRepository(session).get_for_user(user_id, document_id)
        service.delete(session, settings, document)
        raise RuntimeError("fail the transaction after the delete")

    with session_scope(settings) as session:
        assert session.get(Document, document_id) is not None
    assert (settings.documents_dir / user_id / document_id / "text.txt").exists()


# Malformed requests


def test_no_multipart_body_is_422(client, auth) -> None:
    response = client.post(DOCUMENTS, headers=auth, json={"files": ["a.txt"]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "files"]


def test_only_categories_is_422(client, auth, settings) -> None:
    response = client.post(
        DOCUMENTS,
        headers={**auth, "Content-Type": "multipart/form-data; boundary=xyz"},
        content=b'--xyz\r\nContent-Disposition: form-data; name="categories"\r\n\r\nlegal\r\n--xyz--\r\n',
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "files"]


def test_file_in_other_field_rejected(client, auth, settings) -> None:
    response = client.post(DOCUMENTS, headers=auth, files=[("file", ("a.txt", b"text"))])

    assert response.status_code == 400
    assert response.json()["code"] == "unexpected_file_field"
    assert "'a.txt'" in response.json()["detail"]
    assert "'file'" in response.json()["detail"]


def test_truncated_body_rejected(client, auth, settings) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhalf a fi'

    response = client.post(
        DOCUMENTS, headers={**auth, "Content-Type": "multipart/form-data; boundary=xyz"}, content=body
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_multipart"
    assert_nothing_stored(client, auth, settings)


def test_multipart_without_boundary_rejected(client, auth) -> None:
    response = client.post(
        DOCUMENTS, headers={**auth, "Content-Type": "multipart/form-data"}, content=b"anything"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_multipart"


def test_file_without_name_rejected(client, auth) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename=""\r\n\r\ntext\r\n--xyz--\r\n'

    response = client.post(
        DOCUMENTS, headers={**auth, "Content-Type": "multipart/form-data; boundary=xyz"}, content=body
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_filename"


def test_filename_keeps_last_path_component(client, auth) -> None:
    upload(client, auth, ("C:\\Users\\ann\\notes.txt", b"text"), ("../../etc/passwd.txt", b"text"))

    filenames = sorted(document["filename"] for document in client.get(DOCUMENTS, headers=auth).json()["documents"])

    assert filenames == ["notes.txt", "passwd.txt"]


def test_non_ascii_filename_kept(client, auth) -> None:
    upload(client, auth, ("Übersicht März.txt", b"text"))

    (document,) = client.get(DOCUMENTS, headers=auth).json()["documents"]

    assert document["filename"] == "Übersicht März.txt"


def test_category_too_long_is_422_naming_value(client, auth, settings) -> None:
    long_name = "c" * 101

    response = upload(client, auth, ("a.txt", b"text"), data={"categories": f"ok,{long_name}"})

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "categories"]
    assert long_name in error["msg"]
    assert_nothing_stored(client, auth, settings)
