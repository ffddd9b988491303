"""Database access for CLI commands that run without the server."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from alignd.config import get_settings
from alignd.db.engine import session_scope
from alignd.db.migrate import upgrade_database


@contextmanager
def open_database() -> Iterator[Session]:
    settings = get_settings()
    settings.ensure_dirs()
    upgrade_database(settings)
    with session_scope(settings) as session:
        yield session
