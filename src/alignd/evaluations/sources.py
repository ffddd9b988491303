"""Texts that evaluation answers should be grounded in."""

from pathlib import Path

from alignd.config import Settings
from alignd.documents.storage import read_text
from alignd.errors import NotFound
from alignd.logging import get_logger

log = get_logger(__name__)


def benchmark_document_texts(settings: Settings, user_id: str, document_ids: list[str]) -> list[str]:
    """Return the texts of the benchmark's documents that still exist; deleted ones are skipped."""
    texts = []
    for document_id in document_ids:
        try:
            texts.append(read_text(settings, user_id, document_id))
        except NotFound:
            log.warning("evaluation.source_document_missing", document_id=document_id)
    return texts


def project_source_texts(project_dir: Path) -> list[str]:
    """Return the document texts a project copied at creation, which outlive the documents."""
    from alignd.alignments.service import SOURCES_DIR

    folder = project_dir / SOURCES_DIR
    if not folder.is_dir():
        return []
    return [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))]
