"""Streaming reader of the multipart upload body.

Each file part goes straight to its own file in a staging folder while its bytes are
counted, so no file and no body is ever held in memory whole. A file over the limit is
rejected as soon as its first byte beyond the limit arrives.
"""

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from alignd.errors import BadRequest, PayloadTooLarge

FILES_FIELD = "files"
CATEGORIES_FIELD = "categories"
MAX_FILES_PER_REQUEST = 20
MAX_TEXT_FIELDS = 100
MAX_TEXT_FIELD_BYTES = 64 * 1024
MAX_FILENAME_CHARS = 255
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 100
# Upper bound for everything in a body besides file content: the text fields
# (100 x 64 KiB) and the part headers (python-multipart 0.0.34 allows 8 lines of 4224 bytes a part).
_BODY_OVERHEAD_BYTES = 16 * 1024 * 1024


@dataclass
class StagedFile:
    """One uploaded file, written to the staging folder under a generated name."""

    filename: str
    path: Path
    size: int = 0


@dataclass
class UploadForm:
    files: list[StagedFile] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def max_body_bytes(max_file_bytes: int) -> int:
    return MAX_FILES_PER_REQUEST * max_file_bytes + _BODY_OVERHEAD_BYTES


async def read_upload_form(request: Request, folder: Path, max_file_bytes: int) -> UploadForm:
    """Read the ``files`` and ``categories`` fields of a multipart body into ``folder``.

    Raises PayloadTooLarge (413) naming the file that passes ``max_file_bytes``, BadRequest
    for a malformed body, and RequestValidationError (422) when no file or a bad category arrives.
    """
    boundary = _multipart_boundary(request)
    body_limit = max_body_bytes(max_file_bytes)
    _check_declared_length(request, body_limit, max_file_bytes)

    collector = _FormCollector(folder, max_file_bytes)
    parser = MultipartParser(boundary, collector.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise _body_too_large(received, body_limit, max_file_bytes)
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise BadRequest(
            f"The request body is not valid multipart/form-data: {exc}", code="invalid_multipart"
        ) from exc
    except ClientDisconnect as exc:
        raise BadRequest(
            "The client closed the connection before the upload finished.", code="upload_incomplete"
        ) from exc
    finally:
        collector.close()

    if not collector.finished:
        raise BadRequest(
            "The multipart body ends before its closing boundary. Send the complete request again.",
            code="invalid_multipart",
        )
    if not collector.files:
        raise _missing_files()
    return UploadForm(files=collector.files, categories=parse_categories(collector.category_values))


def parse_categories(values: list[str]) -> list[str]:
    """Merge category fields: each may hold one name, comma-separated names or a JSON array of names.

    Names are stripped, blanks dropped and repeats removed, keeping the first order.
    """
    names: list[str] = []
    for value in values:
        for name in _split_category_value(value):
            name = name.strip()
            if not name or name in names:
                continue
            if len(name) > MAX_CATEGORY_CHARS or any(unicodedata.category(char) == "Cc" for char in name):
                raise _invalid_category(
                    name, f"a category name has 1 to {MAX_CATEGORY_CHARS} characters and no control characters"
                )
            names.append(name)
    if len(names) > MAX_CATEGORIES:
        raise _invalid_category(", ".join(names), f"a document takes at most {MAX_CATEGORIES} categories")
    return names


def _split_category_value(value: str) -> list[str]:
    if value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
    return value.split(",")


def _invalid_category(value: str, rule: str) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ("body", CATEGORIES_FIELD),
                "msg": f"Value error, invalid category '{value}': {rule}.",
                "input": value,
            }
        ]
    )


def _multipart_boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        # Without a multipart body the required field is missing, as FastAPI reports it.
        raise _missing_files()
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest(
            "The multipart/form-data Content-Type has no boundary parameter.", code="invalid_multipart"
        )
    return boundary


def _missing_files() -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "missing",
                "loc": ("body", FILES_FIELD),
                "msg": f"Field required. Send the documents as multipart/form-data in the field '{FILES_FIELD}'.",
                "input": None,
            }
        ]
    )


def _check_declared_length(request: Request, body_limit: int, max_file_bytes: int) -> None:
    """Reject a body whose Content-Length is over the limit before reading any of it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise _body_too_large(int(declared), body_limit, max_file_bytes)


def _body_too_large(size: int, body_limit: int, max_file_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body has {size} bytes, more than the {body_limit} bytes allowed for "
        f"{MAX_FILES_PER_REQUEST} files of at most {max_file_bytes} bytes each. "
        "Send fewer or smaller files in each request.",
        code="request_too_large",
    )


def _decode_header_value(raw: bytes) -> str:
    # parse_options_header returns the header's raw bytes, and clients send UTF-8 file names.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _clean_filename(raw: str) -> str:
    """Keep the last path component of a client's file name and check its length and characters."""
    name = PurePosixPath(raw.replace("\\", "/")).name.strip()
    if not name:
        raise BadRequest(
            f"A file in the field '{FILES_FIELD}' has no file name ('{raw}'). Send each file with its name.",
            code="invalid_filename",
        )
    if len(name) > MAX_FILENAME_CHARS:
        raise BadRequest(
            f"File name '{name}' has {len(name)} characters, more than {MAX_FILENAME_CHARS}. Shorten it.",
            code="invalid_filename",
        )
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise BadRequest(
            f"File name {name!r} contains control characters. Rename the file.", code="invalid_filename"
        )
    return name


class _FormCollector:
    """python-multipart callbacks that write file parts to disk and keep text fields."""

    def __init__(self, folder: Path, max_file_bytes: int) -> None:
        self.folder = folder
        self.max_file_bytes = max_file_bytes
        self.files: list[StagedFile] = []
        self.category_values: list[str] = []
        self.finished = False
        self._text_fields = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._field_name = ""
        self._field_data = bytearray()
        self._file: StagedFile | None = None
        self._handle: BinaryIO | None = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._field_name = ""
        self._field_data = bytearray()
        self._file = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[bytes(self._header_name).strip().lower()] = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise BadRequest(
                "A multipart part has no field name in its Content-Disposition header.",
                code="invalid_multipart",
            )
        self._field_name = _decode_header_value(options[b"name"])
        if b"filename" in options:
            self._begin_file(_decode_header_value(options[b"filename"]))
            return

        self._text_fields += 1
        if self._text_fields > MAX_TEXT_FIELDS:
            raise BadRequest(
                f"The request has more than {MAX_TEXT_FIELDS} form fields.", code="too_many_fields"
            )

    def _begin_file(self, raw_filename: str) -> None:
        if self._field_name != FILES_FIELD:
            raise BadRequest(
                f"File '{raw_filename}' arrived in the form field '{self._field_name}'. "
                f"Send every file in the field '{FILES_FIELD}'.",
                code="unexpected_file_field",
            )
        if len(self.files) >= MAX_FILES_PER_REQUEST:
            raise BadRequest(
                f"A request takes at most {MAX_FILES_PER_REQUEST} files. Send the rest in another request.",
                code="too_many_files",
            )
        staged = StagedFile(
            filename=_clean_filename(raw_filename), path=self.folder / f"part-{len(self.files)}"
        )
        self._handle = staged.path.open("wb")
        self._file = staged
        self.files.append(staged)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is not None and self._handle is not None:
            self._file.size += len(chunk)
            if self._file.size > self.max_file_bytes:
                raise PayloadTooLarge(
                    f"File '{self._file.filename}' is larger than the limit of {self.max_file_bytes} bytes. "
                    "Split it into smaller files.",
                    code="file_too_large",
                )
            self._handle.write(chunk)
            return

        if len(self._field_data) + len(chunk) > MAX_TEXT_FIELD_BYTES:
            raise BadRequest(
                f"Form field '{self._field_name}' is longer than {MAX_TEXT_FIELD_BYTES} bytes.",
                code="field_too_large",
            )
        self._field_data += chunk

    def _on_part_end(self) -> None:
        if self._file is not None:
            self.close()
            self._file = None
            return
        if self._field_name == CATEGORIES_FIELD:
            self.category_values.append(self._field_data.decode("utf-8", errors="replace"))

    def _on_end(self) -> None:
        self.finished = True
