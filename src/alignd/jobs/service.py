"""Creating jobs, stopping them, and cleaning up after a crash."""

import time
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.errors import Conflict
from alignd.ids import new_id
from alignd.jobs.backend import JobBackend
from alignd.jobs.models import TERMINAL_JOB_STATUSES, Job, JobStatus
from alignd.jobs.repository import JobRepository
from alignd.jobs.supervisor import INTERRUPTED_ERROR, fail_job
from alignd.logging import get_logger
from alignd.timeutil import utcnow

log = get_logger(__name__)

_PENDING_KEY = "alignd_pending_jobs"


def enqueue(session: Session, *, user_id: str, kind: str, target_id: str) -> Job:
    """Create a QUEUED job; it reaches the backend only once this session commits."""
    job = Job(id=new_id("job"), user_id=user_id, kind=kind, target_id=target_id, status=JobStatus.QUEUED)
    JobRepository(session).add(job)
    session.info.setdefault(_PENDING_KEY, []).append(job.id)
    return job


def bind_backend(factory: sessionmaker[Session], backend: JobBackend) -> None:
    """Submit a session's new jobs after its commit; drop them on rollback."""

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        for job_id in session.info.pop(_PENDING_KEY, []):
            backend.submit(job_id)

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)


def stop_jobs_for_target(settings: Settings, target_id: str) -> None:
    """Ask every active job of the target to stop and wait until none runs.

    A job whose heartbeat is older than ``job_stale_seconds`` counts as dead.
    Raises Conflict when a live job does not stop within ``job_stop_timeout_seconds``.
    """
    with session_scope(settings) as session:
        repo = JobRepository(session)
        active = repo.list_active_for_target(target_id)
        for job in active:
            repo.request_stop(job.id)
    if not active:
        return

    deadline = time.monotonic() + settings.job_stop_timeout_seconds
    while True:
        with session_scope(settings) as session:
            still_running = [
                job for job in JobRepository(session).list_for_target(target_id)
                if job.status not in TERMINAL_JOB_STATUSES
            ]
            stale_before = utcnow() - timedelta(seconds=settings.job_stale_seconds)
            live = [job for job in still_running if job.heartbeat_at is not None and job.heartbeat_at >= stale_before]
        if not live:
            for job in still_running:
                fail_job(settings, job.id, job.kind, job.target_id, "The job's worker stopped answering.")
            return
        if time.monotonic() > deadline:
            raise Conflict(
                f"The running job of '{target_id}' did not stop within "
                f"{settings.job_stop_timeout_seconds:g} s; try the request again.",
                code="job_stop_timeout",
            )
        time.sleep(0.2)


def recover_interrupted_jobs(settings: Settings) -> None:
    """Fail jobs that a crash or kill left RUNNING, with an error that names the interruption.

    The embedded backend runs jobs only inside this process, so at its start every RUNNING
    job is an orphan. With Celery only jobs whose heartbeat went stale are.
    """
    if settings.job_backend != "embedded":
        from alignd.jobs.sweeper import fail_stale_jobs

        fail_stale_jobs(settings)
        return

    with session_scope(settings) as session:
        orphans = [(job.id, job.kind, job.target_id) for job in JobRepository(session).list_by_status(JobStatus.RUNNING)]
    for job_id, kind, target_id in orphans:
        if fail_job(settings, job_id, kind, target_id, INTERRUPTED_ERROR):
            log.warning("job.recovered_as_failed", job_id=job_id, kind=kind, target_id=target_id)
