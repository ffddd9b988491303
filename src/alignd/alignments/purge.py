"""Permanent removal of a project: its files first, then its rows."""

import shutil
from pathlib import Path

from alignd.config import Settings
from alignd.logging import get_logger

log = get_logger(__name__)


def folder_size(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink())


def finish_pending_deletes(settings: Settings) -> None:
    pass
