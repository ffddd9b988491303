"""Supported document types: detection by file name extension, checked against the content."""

import codecs
from enum import StrEnum
from pathlib import PurePosixPath

from alignd.errors import BadRequest, UnsupportedMediaType


class FileKind(StrEnum):
    """A supported document type, whose value is the ``type`` field of a document."""

    TEXT = "txt"
    MARKDOWN = "md"
    HTML = "html"
    PDF = "pdf"
    JSON = "json"
    CSV = "csv"


EXTENSIONS: dict[str, FileKind] = {
    ".txt": FileKind.TEXT,
    ".text": FileKind.TEXT,
    ".md": FileKind.MARKDOWN,
    ".markdown": FileKind.MARKDOWN,
    ".html": FileKind.HTML,
    ".htm": FileKind.HTML,
    ".pdf": FileKind.PDF,
    ".json": FileKind.JSON,
    ".csv": FileKind.CSV,
}
SUPPORTED_EXTENSIONS = ", ".join(sorted(EXTENSIONS))

# Readers such as Acrobat accept junk bytes before the PDF header, so the search covers the first 1024 bytes.
_PDF_HEADER_WINDOW = 1024
# C0 control bytes other than those plain text uses (backspace, tab, line feed, vertical
# tab, form feed, carriage return and escape).
_NON_TEXT_CONTROL_BYTES = bytes(byte for byte in range(0x20) if byte not in b"\b\t\n\v\f\r\x1b")
_BINARY_SAMPLE_BYTES = 64 * 1024
# Share of other C0 control bytes above which a file counts as binary.
_MAX_CONTROL_BYTE_SHARE = 0.05

_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def kind_from_filename(filename: str) -> FileKind:
    """Return the document type that the file name's extension names.

    Raises UnsupportedMediaType (code ``unsupported_file_type``) for any other extension.
    """
    suffix = PurePosixPath(filename).suffix.lower()
    kind = EXTENSIONS.get(suffix)
    if kind is None:
        described = f"extension '{suffix}'" if suffix else "no extension"
        raise UnsupportedMediaType(
            f"File '{filename}' has {described}, which is not a supported document type. "
            f"Supported extensions: {SUPPORTED_EXTENSIONS}.",
            code="unsupported_file_type",
        )
    return kind


def has_pdf_header(head: bytes) -> bool:
    return b"%PDF-" in head[:_PDF_HEADER_WINDOW]


def check_content_matches(kind: FileKind, filename: str, head: bytes) -> None:
    """Reject a file whose first bytes contradict the type its extension names."""
    if kind is FileKind.PDF:
        if not has_pdf_header(head):
            raise UnsupportedMediaType(
                f"File '{filename}' has a .pdf name but its content is not a PDF document "
                "(no %PDF- header). Upload the real PDF or rename the file to its actual type.",
                code="unsupported_file_type",
            )
        return

    if head.startswith(b"%PDF-"):
        raise UnsupportedMediaType(
            f"File '{filename}' contains a PDF document but its name does not end in .pdf. "
            "Rename it to .pdf and upload it again.",
            code="unsupported_file_type",
        )


def decode_text(data: bytes, filename: str) -> str:
    """Decode the bytes of a text file.

    A byte order mark selects UTF-8, UTF-16 or UTF-32. Without one the text is read as UTF-8,
    and bytes that are not valid UTF-8 are read as Windows-1252, the usual encoding of older
    Western-European files. Raises BadRequest (code ``binary_file``) for content that is not text.
    """
    for bom, encoding in _UNICODE_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _binary_file(filename) from exc

    if _looks_binary(data):
        raise _binary_file(filename)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # NOTE: a file in another legacy encoding (Shift JIS, KOI8-R, ...) decodes to wrong
        # characters here. Reading it correctly needs an encoding detector.
        return data.decode("cp1252", errors="replace")


def _looks_binary(data: bytes) -> bool:
    if b"\x00" in data:
        return True
    sample = data[:_BINARY_SAMPLE_BYTES]
    control_bytes = len(sample) - len(sample.translate(None, _NON_TEXT_CONTROL_BYTES))
    return control_bytes > len(sample) * _MAX_CONTROL_BYTE_SHARE


def _binary_file(filename: str) -> BadRequest:
    return BadRequest(
        f"File '{filename}' is a binary file, not text. Upload text, Markdown, HTML, JSON or CSV "
        "as UTF-8 text, or a PDF with a .pdf name.",
        code="binary_file",
    )
