"""The Celery job backend on the real Redis and PostgreSQL: publishing, workers, stale jobs."""

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alignd.alignments.models import AlignmentProject
from alignd.auth.models import User
from alignd.auth.service import create_key
from alignd.cli.main import app as cli_app
from alignd.config import Settings
from alignd.db.engine import dispose_engines, session_factory, session_scope
from alignd.db.migrate import upgrade_database
from alignd.ids import new_id
from alignd.jobs.celery_backend import CeleryJobBackend
from alignd.jobs.models import Job, JobStatus
from alignd.jobs.repository import JobRepository
from alignd.jobs.service import bind_backend, enqueue
from alignd.jobs.sweeper import fail_stale_jobs
from alignd.timeutil import utcnow
from pg import (
    REDIS_URL,
    WorkerProcess,
    delete_queue,
    require_postgres,
    require_redis,
    temporary_database,
    unique_queue,
)
from server_process import alignd_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

TERMINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@pytest.fixture(scope="module")
def cluster_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of one API node in celery mode, on a new database and a queue of its own."""
    require_postgres()
    require_redis()
    home = tmp_path_factory.mktemp("celery-home")
    queue = unique_queue()
    with temporary_database() as url:
        settings = Settings(home=home, database_url=url, broker_url=REDIS_URL, job_backend="celery",
                            celery_queue=queue, job_heartbeat_seconds=0.5, job_stale_seconds=20)
        upgrade_database(settings)
        yield settings
        dispose_engines()
        delete_queue(queue)


@pytest.fixture(scope="module")
def user_id(cluster_settings: Settings) -> str:
    with session_scope(cluster_settings) as session:
        create_key(session, "celery@example.com")
    with session_scope(cluster_settings) as session:
        return session.scalars(select(User.id).where(User.email == "celery@example.com")).one()


@pytest.fixture(scope="module")
def backend(cluster_settings: Settings) -> Iterator[CeleryJobBackend]:
    # Not started: the tests publish through submit() and the after-commit hook only.
    backend = CeleryJobBackend(cluster_settings)
    yield backend
    backend.app.close()


@pytest.fixture(scope="module")
def factory(cluster_settings: Settings, backend: CeleryJobBackend) -> sessionmaker[Session]:
    factory = session_factory(cluster_settings)
    bind_backend(factory, backend)
    return factory


def _queue_length(settings: Settings) -> int:
    return redis.Redis.from_url(REDIS_URL).llen(settings.celery_queue)


def _drain(settings: Settings) -> None:
    redis.Redis.from_url(REDIS_URL).delete(settings.celery_queue)


def _worker_env(settings: Settings) -> dict[str, str]:
    return alignd_env(settings.home_dir, ALIGND_DATABASE_URL=settings.resolved_database_url,
                      ALIGND_JOB_BACKEND="celery", ALIGND_BROKER_URL=settings.broker_url,
                      ALIGND_CELERY_QUEUE=settings.celery_queue, ALIGND_JOB_STALE_SECONDS="20")


def _wait_job(settings: Settings, job_id: str, done: Callable[[Job], bool], timeout: float = 120.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(settings) as session:
            job = JobRepository(session).get(job_id)
            assert job is not None
        if done(job) or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def _new_job(factory: sessionmaker[Session], user_id: str, target_id: str = "alignment_gone") -> str:
    with factory() as session:
        job = enqueue(session, user_id=user_id, kind="align", target_id=target_id)
        session.commit()
        return job.id


def test_job_published_only_after_commit(
    cluster_settings: Settings, factory: sessionmaker[Session], user_id: str
) -> None:
    _drain(cluster_settings)
    with factory() as session:
        enqueue(session, user_id=user_id, kind="align", target_id="alignment_gone")
        session.flush()
        assert _queue_length(cluster_settings) == 0
        session.commit()
    assert _queue_length(cluster_settings) == 1
    _drain(cluster_settings)


def test_rolled_back_job_is_never_published(
    cluster_settings: Settings, factory: sessionmaker[Session], user_id: str
) -> None:
    _drain(cluster_settings)
    with factory() as session:
        job = enqueue(session, user_id=user_id, kind="align", target_id="alignment_gone")
        job_id = job.id
        session.rollback()
    assert _queue_length(cluster_settings) == 0
    with session_scope(cluster_settings) as session:
        assert JobRepository(session).get(job_id) is None


def test_unreachable_broker_leaves_job_queued(cluster_settings: Settings, user_id: str) -> None:
    broken = cluster_settings.model_copy(update={"broker_url": "redis://127.0.0.1:9/0"})
    backend = CeleryJobBackend(broken)
    factory = session_factory(broken)
    bind_backend(factory, backend)
    try:
        job_id = _new_job(factory, user_id)
    finally:
        backend.app.close()
    with session_scope(cluster_settings) as session:
        assert JobRepository(session).get(job_id).status == JobStatus.QUEUED


@pytest.mark.parametrize("pool", [["--pool", "solo"], ["--pool", "prefork", "--concurrency", "2"]])
def test_worker_runs_each_job_once(
    cluster_settings: Settings, factory: sessionmaker[Session], backend: CeleryJobBackend, user_id: str,
    tmp_path: Path, pool: list[str],
) -> None:
    _drain(cluster_settings)
    job_id = _new_job(factory, user_id)
    backend.submit(job_id)  # a duplicate message, as a restarted API node sends
    cancelled_id = _new_job(factory, user_id)
    with session_scope(cluster_settings) as session:
        JobRepository(session).request_stop(cancelled_id)

    worker = WorkerProcess(_worker_env(cluster_settings), tmp_path / "worker.log", *pool)
    worker.start()
    try:
        job = _wait_job(cluster_settings, job_id, lambda j: j.status in TERMINAL)
        # The worker consumes the cancelled job's message after the first job's two.
        deadline = time.monotonic() + 60
        while _queue_length(cluster_settings) and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        worker.stop()

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 1
    assert job.worker is not None
    cancelled = _wait_job(cluster_settings, cancelled_id, lambda j: True)
    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.attempts == 0


def _project(settings: Settings, user_id: str) -> str:
    project_id = new_id("alignment")
    with session_scope(settings) as session:
        session.add(AlignmentProject(id=project_id, user_id=user_id, name="stale", base_model="tiny-random-llama",
                                     model_id=f"model_stale_{project_id.lower()}", documents=[]))
    return project_id


def _running_job(settings: Settings, user_id: str, target_id: str, heartbeat_age: float) -> str:
    job_id = new_id("job")
    with session_scope(settings) as session:
        session.add(Job(id=job_id, user_id=user_id, kind="align", target_id=target_id, status=JobStatus.QUEUED))
        session.flush()
        assert JobRepository(session).claim(job_id, "gone-host:1")
        session.execute(update(Job).where(Job.id == job_id)
                        .values(heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age)))
    return job_id


def test_stale_job_fails_with_clear_error(cluster_settings: Settings, user_id: str) -> None:
    project_id = _project(cluster_settings, user_id)
    job_id = _running_job(cluster_settings, user_id, project_id, heartbeat_age=3600)

    assert job_id in fail_stale_jobs(cluster_settings)

    with session_scope(cluster_settings) as session:
        job = JobRepository(session).get(job_id)
        project = session.get(AlignmentProject, project_id)
        assert job.status == JobStatus.FAILED
        assert "no heartbeat" in job.error
        assert project.status == "FAILED"
        assert project.error == job.error


def test_live_job_is_not_failed(cluster_settings: Settings, user_id: str) -> None:
    job_id = _running_job(cluster_settings, user_id, _project(cluster_settings, user_id), heartbeat_age=1)
    assert job_id not in fail_stale_jobs(cluster_settings)
    with session_scope(cluster_settings) as session:
        assert JobRepository(session).get(job_id).status == JobStatus.RUNNING
        JobRepository(session).finish(job_id, JobStatus.CANCELLED)


def test_heartbeat_stops_job_failed_by_sweep(cluster_settings: Settings, user_id: str) -> None:
    job_id = _running_job(cluster_settings, user_id, _project(cluster_settings, user_id), heartbeat_age=3600)
    fail_stale_jobs(cluster_settings)
    with session_scope(cluster_settings) as session:
        assert JobRepository(session).heartbeat(job_id) is True


def test_worker_solo_pool_rejects_concurrency() -> None:
    result = CliRunner().invoke(cli_app, ["worker", "--concurrency", "2"])
    assert result.exit_code == 2
    assert "--concurrency" in result.output
    assert "prefork" in result.output
