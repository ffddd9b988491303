"""Documents: upload and text extraction of each type, status, list, delete and ownership."""

import json
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.documents.models import Document
from alignd.documents.repository import DocumentRepository
from alignd.documents.storage import read_text, staging_root
from alignd.errors import NotFound

DOCUMENTS = "/api/v3/documents"


def make_pdf(pages: list[list[str]]) -> bytes:
    """Build a PDF with one Helvetica text line per string, written object by object."""
    page_count = len(pages)
    font_number = 3 + 2 * page_count
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{3 + 2 * index} 0 R".encode() for index in range(page_count))
        + f"] /Count {page_count} >>".encode(),
    ]
    for index, lines in enumerate(pages):
        content_number = 4 + 2 * index
        commands = ["BT", "/F1 12 Tf", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            commands += [f"({escaped}) Tj", "0 -16 Td"]
        commands.append("ET")
        stream = "\n".join(commands).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_number} 0 R "
            f"/Resources << /Font << /F1 {font_number} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        output += b"%010d 00000 n \n" % offset
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_offset)
    return bytes(output)


def upload(client: TestClient, auth: dict[str, str], *files: tuple[str, bytes], data=None):
    return client.post(
        DOCUMENTS, headers=auth, files=[("files", (name, content)) for name, content in files], data=data
    )


def upload_one(client: TestClient, auth: dict[str, str], name: str, content: bytes) -> str:
    """Upload one file and return the id of the document it became."""
    response = upload(client, auth, (name, content))
    assert response.status_code == 200, response.text
    (task_id,) = response.json()
    status = client.get(f"{DOCUMENTS}/upload-status/{task_id}", headers=auth).json()
    return status["document_id"]


def user_id_of(settings: Settings, document_id: str) -> str:
    with session_scope(settings) as session:
        return session.get(Document, document_id).user_id


def stored_text(settings: Settings, document_id: str) -> str:
    return read_text(settings, user_id_of(settings, document_id), document_id)


def list_documents(client: TestClient, auth: dict[str, str]) -> dict:
    response = client.get(DOCUMENTS, headers=auth)
    assert response.status_code == 200
    return response.json()


# Upload and extraction of each type


def test_upload_plain_text_keeps_text(client, auth, settings) -> None:
    document_id = upload_one(client, auth, "notes.txt", b"First line.\r\nSecond line, caf\xc3\xa9.\n")

    assert stored_text(settings, document_id) == "First line.\nSecond line, café.\n"


def test_upload_markdown_keeps_source(client, auth, settings) -> None:
    source = "# Refund policy\n\nRefunds take *14 days*.\n\n- card\n- transfer\n"
    document_id = upload_one(client, auth, "policy.md", source.encode())

    assert stored_text(settings, document_id) == source


def test_upload_html_drops_script_and_style(client, auth, settings) -> None:
    page = (
        b"<html><head><title>Guide</title><style>p { color: red; }</style>"
        b"<script>var secret = 'do not index';</script></head>"
        b"<body><h1>Setup</h1><p>Install the <b>agent</b> first.</p><p>Then restart.</p>"
        b"<!-- hidden comment --></body></html>"
    )
    document_id = upload_one(client, auth, "guide.html", page)
    text = stored_text(settings, document_id)

    assert text.splitlines() == ["Guide", "Setup", "Install the agent first.", "Then restart."]
    assert "secret" not in text
    assert "color" not in text


def test_upload_pdf_extracts_text_of_every_page(client, auth, settings) -> None:
    pdf = make_pdf([["Quarterly report", "Revenue grew by 12 percent."], ["Second page (appendix)."]])
    document_id = upload_one(client, auth, "report.pdf", pdf)
    text = stored_text(settings, document_id)

    assert "Quarterly report" in text
    assert "Revenue grew by 12 percent." in text
    assert "Second page (appendix)." in text
    assert text.index("Revenue") < text.index("Second page")


def test_upload_json_is_flattened_to_lines(client, auth, settings) -> None:
    payload = {
        "product": "Widget",
        "price": 9.5,
        "in_stock": True,
        "tags": ["blue", "small"],
        "maker": {"name": "Acme", "country": "DE"},
    }
    document_id = upload_one(client, auth, "product.json", json.dumps(payload).encode())

    assert stored_text(settings, document_id).splitlines() == [
        "product: Widget",
        "price: 9.5",
        "in_stock: true",
        "tags:",
        "  - blue",
        "  - small",
        "maker:",
        "  name: Acme",
        "  country: DE",
    ]


def test_upload_json_array_of_records_separates_records(client, auth, settings) -> None:
    records = [{"question": "What is alignd?", "answer": "A service."}, {"question": "Port?", "answer": "8000"}]
    document_id = upload_one(client, auth, "faq.json", json.dumps(records).encode())

    assert stored_text(settings, document_id).splitlines() == [
        "question: What is alignd?",
        "answer: A service.",
        "",
        "question: Port?",
        "answer: 8000",
    ]


def test_upload_csv_pairs_header_with_values(client, auth, settings) -> None:
    table = b'name,city,note\r\nAnn,Berlin,"likes tea, not coffee"\r\nBob,,new\r\n'
    document_id = upload_one(client, auth, "people.csv", table)

    assert stored_text(settings, document_id).splitlines() == [
        "name: Ann; city: Berlin; note: likes tea, not coffee",
        "name: Bob; note: new",
    ]


def test_upload_csv_with_semicolons_is_detected(client, auth, settings) -> None:
    table = b"product;price\nTea;3\nCoffee;4\n"
    document_id = upload_one(client, auth, "prices.csv", table)

    assert stored_text(settings, document_id).splitlines() == ["product: Tea; price: 3", "product: Coffee; price: 4"]


def test_upload_windows_1252_text_is_decoded(client, auth, settings) -> None:
    document_id = upload_one(client, auth, "legacy.txt", "Caf\u00e9 cr\u00e8me".encode("cp1252"))

    assert stored_text(settings, document_id) == "Café crème\n"


def test_upload_utf16_text_with_bom_is_decoded(client, auth, settings) -> None:
    document_id = upload_one(client, auth, "wide.txt", "Grüße aus Köln".encode("utf-16"))

    assert stored_text(settings, document_id) == "Grüße aus Köln\n"


def test_upload_keeps_original_bytes(client, auth, settings) -> None:
    content = b"keep me exactly\r\n"
    document_id = upload_one(client, auth, "Exact.TXT", content)
    folder = settings.documents_dir / user_id_of(settings, document_id) / document_id

    assert (folder / "original.txt").read_bytes() == content
    assert (folder / "text.txt").exists()


# Several files, categories and the listing


def test_upload_several_files_returns_task_per_file(client, auth) -> None:
    response = upload(client, auth, ("a.txt", b"alpha"), ("b.md", b"# beta"), ("c.csv", b"k\nv\n"))

    assert response.status_code == 200
    task_ids = response.json()
    assert len(task_ids) == 3
    assert all(task_id.startswith("upload_") for task_id in task_ids)
    assert len(set(task_ids)) == 3
    filenames = {document["filename"] for document in list_documents(client, auth)["documents"]}
    assert filenames == {"a.txt", "b.md", "c.csv"}


def test_upload_status_points_to_document(client, auth) -> None:
    (task_id,) = upload(client, auth, ("a.txt", b"alpha")).json()

    response = client.get(f"{DOCUMENTS}/upload-status/{task_id}", headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert body["error"] is None
    listed_ids = [document["id"] for document in list_documents(client, auth)["documents"]]
    assert listed_ids == [body["document_id"]]


def test_list_shows_document_fields(client, auth) -> None:
    before = datetime.now().astimezone()
    document_id = upload_one(client, auth, "notes.txt", b"hello world")

    (document,) = list_documents(client, auth)["documents"]

    assert document["id"] == document_id
    assert document["id"].startswith("doc_")
    assert document["filename"] == "notes.txt"
    assert document["type"] == "txt"
    assert document["size"] == 11
    assert document["status"] == "COMPLETED"
    assert document["categories"] == []
    assert document["uploader"] == "alice@example.com"
    assert document["processing_progress"] == 100
    upload_date = datetime.fromisoformat(document["upload_date"])
    assert upload_date.utcoffset() == timedelta(0)
    assert upload_date >= before - timedelta(seconds=1)


def test_list_type_names_each_format(client, auth) -> None:
    upload(
        client,
        auth,
        ("a.txt", b"a"),
        ("b.markdown", b"b"),
        ("c.htm", b"<p>c</p>"),
        ("d.json", b'{"d": 1}'),
        ("e.csv", b"e\n1\n"),
        ("f.pdf", make_pdf([["f"]])),
    )

    types = {document["filename"]: document["type"] for document in list_documents(client, auth)["documents"]}

    assert types == {"a.txt": "txt", "b.markdown": "md", "c.htm": "html", "d.json": "json", "e.csv": "csv", "f.pdf": "pdf"}


def test_list_is_newest_first(client, auth) -> None:
    first = upload_one(client, auth, "first.txt", b"1")
    second = upload_one(client, auth, "second.txt", b"2")

    ids = [document["id"] for document in list_documents(client, auth)["documents"]]

    assert ids == [second, first]


def test_categories_from_comma_string_and_repeated_fields(client, auth) -> None:
    response = client.post(
        DOCUMENTS,
        headers=auth,
        files=[("files", ("a.txt", b"alpha"))],
        data={"categories": ["legal, tax", "hr", " tax ", ""]},
    )
    assert response.status_code == 200

    (document,) = list_documents(client, auth)["documents"]

    assert document["categories"] == ["legal", "tax", "hr"]


def test_categories_as_json_array(client, auth) -> None:
    upload(client, auth, ("a.txt", b"alpha"), data={"categories": '["legal", "tax, 2024"]'})

    (document,) = list_documents(client, auth)["documents"]

    assert document["categories"] == ["legal", "tax, 2024"]


def test_categories_apply_to_every_file_of_request(client, auth) -> None:
    upload(client, auth, ("a.txt", b"alpha"), ("b.txt", b"beta"), data={"categories": "legal"})

    documents = list_documents(client, auth)["documents"]

    assert [document["categories"] for document in documents] == [["legal"], ["legal"]]


def test_category_counts_cover_all_documents(client, auth) -> None:
    upload(client, auth, ("a.txt", b"alpha"), ("b.txt", b"beta"), data={"categories": "legal,tax"})
    upload(client, auth, ("c.txt", b"gamma"), data={"categories": "tax"})
    upload(client, auth, ("d.txt", b"delta"))

    categories = list_documents(client, auth)["categories"]

    assert categories == [{"name": "legal", "count": 2}, {"name": "tax", "count": 3}]


def test_list_empty_for_new_user(client, auth) -> None:
    assert list_documents(client, auth) == {"documents": [], "categories": []}


# Delete


def test_delete_removes_row_and_files(client, auth, settings) -> None:
    document_id = upload_one(client, auth, "notes.txt", b"hello")
    folder = settings.documents_dir / user_id_of(settings, document_id) / document_id
    assert folder.is_dir()

    response = client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)

    assert response.status_code == 200
    assert response.json() == {"document_id": document_id, "message": "Document successfully deleted"}
    assert list_documents(client, auth)["documents"] == []
    assert not folder.exists()


def test_delete_twice_is_404(client, auth) -> None:
    document_id = upload_one(client, auth, "notes.txt", b"hello")
    client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)

    response = client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)

    assert response.status_code == 404
    assert response.json() == {"detail": f"Document '{document_id}' not found.", "code": "document_not_found"}


def test_delete_updates_category_counts(client, auth) -> None:
    upload(client, auth, ("a.txt", b"alpha"), data={"categories": "legal"})
    document_id = upload_one(client, auth, "b.txt", b"beta")
    client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)
    (remaining,) = list_documents(client, auth)["documents"]

    client.delete(f"{DOCUMENTS}/{remaining['id']}", headers=auth)

    assert list_documents(client, auth)["categories"] == []


def test_upload_status_survives_document_delete(client, auth) -> None:
    (task_id,) = upload(client, auth, ("a.txt", b"alpha")).json()
    document_id = client.get(f"{DOCUMENTS}/upload-status/{task_id}", headers=auth).json()["document_id"]
    client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)

    response = client.get(f"{DOCUMENTS}/upload-status/{task_id}", headers=auth)

    assert response.status_code == 200
    assert response.json()["status"] == "COMPLETED"


# Ownership


def test_other_user_does_not_see_documents(client, auth, other_auth) -> None:
    upload(client, auth, ("a.txt", b"alpha"), data={"categories": "legal"})

    assert list_documents(client, other_auth) == {"documents": [], "categories": []}


def test_other_user_cannot_delete_document(client, auth, other_auth, settings) -> None:
    document_id = upload_one(client, auth, "a.txt", b"alpha")

    response = client.delete(f"{DOCUMENTS}/{document_id}", headers=other_auth)

    assert response.status_code == 404
    assert response.json()["code"] == "document_not_found"
    assert [document["id"] for document in list_documents(client, auth)["documents"]] == [document_id]
    assert stored_text(settings, document_id) == "alpha\n"


def test_foreign_and_missing_document_share_404_body(client, auth, other_auth) -> None:
    document_id = upload_one(client, other_auth, "a.txt", b"alpha")
    foreign = client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)
    client.delete(f"{DOCUMENTS}/{document_id}", headers=other_auth)

    missing = client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_other_user_cannot_read_upload_status(client, auth, other_auth) -> None:
    (task_id,) = upload(client, auth, ("a.txt", b"alpha")).json()

    response = client.get(f"{DOCUMENTS}/upload-status/{task_id}", headers=other_auth)

    assert response.status_code == 404
    assert response.json() == {"detail": f"Upload task '{task_id}' not found.", "code": "upload_task_not_found"}


def test_routes_need_api_key(client) -> None:
    assert client.get(DOCUMENTS).status_code == 401
    assert client.post(DOCUMENTS, files=[("files", ("a.txt", b"alpha"))]).status_code == 401
    assert client.delete(f"{DOCUMENTS}/doc_x").status_code == 401
    assert client.get(f"{DOCUMENTS}/upload-status/upload_x").status_code == 401


# Ids in paths are matched exactly. Starlette's TestClient decodes percent escapes twice, so
# ids that contain an escape such as "%41" are checked over real HTTP in test_documents_live_http.py.

WEIRD_IDS = [
    "doc_01J00000000000000000000000",
    "doc:1",
    "100%",
    "with space",
    "dökümän_ü",
    "文書",
    "x" * 300,
    "nul\x00byte",
    "upload-status",
    "doc_'; DROP TABLE documents; --",
]


@pytest.mark.parametrize("weird_id", WEIRD_IDS)
def test_delete_unknown_id_is_404(client, auth, weird_id: str) -> None:
    response = client.delete(f"{DOCUMENTS}/{quote(weird_id, safe='')}", headers=auth)

    assert response.status_code == 404
    assert response.json() == {"detail": f"Document '{weird_id}' not found.", "code": "document_not_found"}


@pytest.mark.parametrize("weird_id", WEIRD_IDS)
def test_upload_status_unknown_id_is_404(client, auth, weird_id: str) -> None:
    response = client.get(f"{DOCUMENTS}/upload-status/{quote(weird_id, safe='')}", headers=auth)

    assert response.status_code == 404
    assert response.json() == {"detail": f"Upload task '{weird_id}' not found.", "code": "upload_task_not_found"}


def test_id_differing_in_case_is_404(client, auth) -> None:
    document_id = upload_one(client, auth, "a.txt", b"alpha")

    response = client.delete(f"{DOCUMENTS}/{document_id.upper()}", headers=auth)

    assert response.status_code == 404


def test_id_with_extra_character_is_404(client, auth) -> None:
    document_id = upload_one(client, auth, "a.txt", b"alpha")

    for variant in (document_id + " ", document_id + "%", " " + document_id):
        response = client.delete(f"{DOCUMENTS}/{quote(variant, safe='')}", headers=auth)
        assert response.status_code == 404, variant
    assert len(list_documents(client, auth)["documents"]) == 1


# The interface that alignment projects use


def test_repository_get_for_user_checks_owner(client, auth, other_auth, settings) -> None:
    document_id = upload_one(client, auth, "a.txt", b"alpha")
    owner_id = user_id_of(settings, document_id)

    with session_scope(settings) as session:
        repository = DocumentRepository(session)
        owned = repository.get_for_user(owner_id, document_id)
        foreign = repository.get_for_user("user_someone_else", document_id)
        too_long = repository.get_for_user(owner_id, document_id + "x" * 300)

    assert owned is not None
    assert owned.filename == "a.txt"
    assert foreign is None
    assert too_long is None


def test_read_text_of_deleted_document_is_not_found(client, auth, settings) -> None:
    document_id = upload_one(client, auth, "a.txt", b"alpha")
    owner_id = user_id_of(settings, document_id)
    client.delete(f"{DOCUMENTS}/{document_id}", headers=auth)

    with pytest.raises(NotFound) as raised:
        read_text(settings, owner_id, document_id)

    assert raised.value.code == "document_not_found"


@pytest.mark.parametrize("bad_id", ["..", "../other", "a/b", ""])
def test_read_text_rejects_path_like_ids(settings, bad_id: str) -> None:
    with pytest.raises(NotFound):
        read_text(settings, "user_x", bad_id)


def test_upload_leaves_no_staging_files(client, auth, settings) -> None:
    upload(client, auth, ("a.txt", b"alpha"), ("b.pdf", make_pdf([["beta"]])))

    assert list(staging_root(settings).iterdir()) == []


def test_documents_dir_layout(client, auth, settings) -> None:
    document_id = upload_one(client, auth, "report.pdf", make_pdf([["text"]]))
    user_id = user_id_of(settings, document_id)

    names = sorted(path.name for path in (settings.documents_dir / user_id / document_id).iterdir())

    assert names == ["original.pdf", "text.txt"]
