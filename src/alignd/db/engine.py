"""Engine and session factory, with SQLite tuned for several processes."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from alignd.config import Settings

_engines: dict[str, Engine] = {}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def get_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    engine = _engines.get(url)
    if engine is not None:
        return engine
    if url.startswith("sqlite"):
        settings.home_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    _engines[url] = engine
    return engine


def dispose_engines(close: bool = True) -> None:
    """Close every pooled connection, as a forked or spawned child must before it uses the database.

    A process forked from one that still uses the database passes ``close=False``: the pooled
    connections belong to the parent, and closing them in the child would end the parent's sessions.
    """
    for engine in _engines.values():
        engine.dispose(close=close)
    _engines.clear()


def session_factory(settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(settings), expire_on_commit=False)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """Run one transaction: commit on success, roll back on any exception."""
    session = session_factory(settings)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
