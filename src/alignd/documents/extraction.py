"""Plain-text extraction for each supported document type."""

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from pypdf import PasswordType, PdfReader

from alignd.documents.filetypes import FileKind, decode_text
from alignd.errors import AlignError, BadRequest

# Elements whose text is code or markup for machines, not prose.
_HTML_SKIPPED_TAGS = ["script", "style", "noscript", "template"]
# Elements that start a new line of text in a browser.
_HTML_BLOCK_TAGS = [
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tr", "title", "ul",
]
_CSV_SNIFF_BYTES = 64 * 1024
_CSV_DELIMITERS = ",;\t|"


def extract_text(kind: FileKind, path: Path, filename: str) -> str:
    """Extract the readable text of a stored upload, ending in one newline.

    Raises BadRequest naming the file when the content cannot be parsed as its type
    (code ``invalid_file_content``), is binary (``binary_file``), or contains no text
    (``no_extractable_text``).
    """
    if kind is FileKind.PDF:
        text = _pdf_text(path, filename)
    else:
        decoded = decode_text(path.read_bytes(), filename)
        decoded = decoded.replace("\r\n", "\n").replace("\r", "\n")
        if kind is FileKind.HTML:
            text = _html_text(decoded)
        elif kind is FileKind.JSON:
            text = _json_text(decoded, filename)
        elif kind is FileKind.CSV:
            text = _csv_text(decoded, filename)
        else:
            # Markdown stays as written: its markup is light and readable as text.
            text = decoded

    text = text.strip()
    if not text:
        raise BadRequest(_no_text_message(kind, filename), code="no_extractable_text")
    return text + "\n"


def _no_text_message(kind: FileKind, filename: str) -> str:
    if kind is FileKind.PDF:
        return (
            f"File '{filename}' contains no extractable text. A scanned PDF holds only images; "
            "run OCR on it first or upload the text in another format."
        )
    return f"File '{filename}' contains no text, only whitespace or markup. Upload a file with text in it."


def _pdf_text(path: Path, filename: str) -> str:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise BadRequest(
                f"File '{filename}' is a password-protected PDF. Remove the password and upload it again.",
                code="encrypted_pdf",
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except AlignError:
        raise
    except Exception as exc:
        # pypdf raises many exception types (PdfReadError, ValueError, KeyError, ...) on a damaged file.
        raise BadRequest(
            f"File '{filename}' is not a readable PDF document: {exc}", code="invalid_file_content"
        ) from exc
    return "\n\n".join(page.strip() for page in pages if page.strip())


def _html_text(markup: str) -> str:
    soup = BeautifulSoup(markup, "html.parser")
    for element in soup(_HTML_SKIPPED_TAGS):
        element.decompose()
    for line_break in soup("br"):
        line_break.replace_with("\n")
    for block in soup(_HTML_BLOCK_TAGS):
        block.insert_before("\n")
        block.insert_after("\n")
    for cell in soup(["td", "th"]):
        cell.insert_after(" ")

    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def _json_text(source: str, filename: str) -> str:
    try:
        value = json.loads(source)
        return "\n".join(_json_lines(value, depth=0))
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"File '{filename}' is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
            code="invalid_file_content",
        ) from exc
    except RecursionError as exc:
        raise BadRequest(
            f"File '{filename}' nests JSON objects or arrays too deeply to read.",
            code="invalid_file_content",
        ) from exc


def _json_lines(value: Any, depth: int) -> Iterator[str]:
    """Render JSON as indented ``key: value`` lines, one blank line between objects of an array."""
    indent = "  " * depth
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                if item:
                    yield f"{indent}{key}:"
                    yield from _json_lines(item, depth + 1)
            else:
                yield f"{indent}{key}: {_json_scalar(item)}"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                if index > 0:
                    yield ""
                yield from _json_lines(item, depth)
            else:
                yield f"{indent}- {_json_scalar(item)}"
    else:
        yield f"{indent}{_json_scalar(value)}"


def _json_scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _csv_text(source: str, filename: str) -> str:
    """Render each data row as ``column: value`` pairs, taking the first row as the header."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            source[:_CSV_SNIFF_BYTES], delimiters=_CSV_DELIMITERS
        )
    except csv.Error:
        dialect = csv.excel

    reader = csv.reader(io.StringIO(source, newline=""), dialect)
    try:
        # NOTE: a file without a header row loses its first row to the column names. The csv
        # module's header detection (Sniffer.has_header) guesses too often to decide this.
        header = [name.strip() for name in next(reader, [])]
        lines = [_csv_row_text(header, row) for row in reader]
    except csv.Error as exc:
        raise BadRequest(
            f"File '{filename}' is not valid CSV: {exc} (line {reader.line_num}).",
            code="invalid_file_content",
        ) from exc

    lines = [line for line in lines if line]
    if not lines:
        return ", ".join(name for name in header if name)
    return "\n".join(lines)


def _csv_row_text(header: list[str], row: list[str]) -> str:
    pairs = []
    for index, cell in enumerate(row):
        value = cell.strip()
        if not value:
            continue
        name = header[index] if index < len(header) and header[index] else f"column {index + 1}"
        pairs.append(f"{name}: {value}")
    return "; ".join(pairs)
