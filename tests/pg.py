"""Helpers for multi-node tests: the real PostgreSQL and Redis servers on 127.0.0.1, and worker processes.

Loaded as a pytest plugin, this module runs any test on a new PostgreSQL database of its own:

    PYTHONPATH=tests .venv/bin/pytest -p pg tests/test_delete_contract.py tests/test_alignments.py

``ALIGND_TEST_PG_ADMIN_URL`` (a libpq URL of a database to run CREATE DATABASE from) and
``ALIGND_TEST_REDIS_URL`` point the tests at other servers.
"""

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

from server_process import ALIGND

PG_ADMIN_URL = os.environ.get("ALIGND_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ALIGND_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def postgres_unavailable() -> str | None:
    """Return why PostgreSQL cannot be used, or None when a query on it succeeds."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}".strip()
    return None


def redis_unavailable() -> str | None:
    """Return why Redis cannot be used, or None when it replies to PING."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except (redis.RedisError, socket.error) as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc}"
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)


def require_redis() -> None:
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)


def sqlalchemy_url(database: str) -> str:
    """Return the SQLAlchemy URL of ``database`` on the admin URL's server, with the psycopg driver."""
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{database}", parts.query, ""))


@contextmanager
def temporary_database() -> Iterator[str]:
    """Create an empty database ``alignd_test_<random>``, yield its SQLAlchemy URL, then drop it."""
    name = f"alignd_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sqlalchemy_url(name)
    finally:
        # FORCE ends sessions that a killed server process may have left open.
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def fresh_postgres_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the ``settings`` fixture at a new, empty PostgreSQL database for one test.

    A test module gets it by importing it by name; ``-p pg`` turns it on for every test.
    """
    require_postgres()
    with temporary_database() as url:
        monkeypatch.setenv("ALIGND_TEST_DATABASE_URL", url)
        yield url


def unique_queue() -> str:
    """Return a Celery queue name that no other test run consumes."""
    return f"alignd-test-{uuid.uuid4().hex[:12]}"


def delete_queue(name: str) -> None:
    """Remove a test queue's leftover messages from Redis, unacknowledged ones of killed workers included."""
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(name, f"_kombu.binding.{name}")
    # kombu keeps the messages that workers hold in one hash for all queues, each naming its queue.
    marker = f'"{name}"'.encode()
    for tag, payload in client.hgetall("unacked").items():
        if marker in payload:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


class WorkerProcess:
    """An ``alignd worker`` process in its own session, as a worker node runs it."""

    def __init__(self, env: dict[str, str], log_path: Path, *options: str) -> None:
        self.env = env
        self.log_path = log_path
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        """Start the worker and return once it consumes its queue."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*ALIGND, "worker", *self.options], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alignd worker exited early; see {self.log_path}")
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if b"worker.ready" in log.read():
                    return
            time.sleep(0.3)
        raise TimeoutError(f"alignd worker did not become ready; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the worker's main process alone, as a crash would; its job child must exit by itself."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        # Reaping matters: a job child watches its supervisor's pid, and a zombie still has one.
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the worker and everything it started; a job still running after 10 s is killed."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=30)
