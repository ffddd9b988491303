"""Queries and compare-and-set updates on jobs."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alignd.jobs.models import TERMINAL_JOB_STATUSES, Job, JobStatus
from alignd.timeutil import utcnow


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, job_id: str) -> Job | None:
        return self.session.get(Job, job_id)

    def add(self, job: Job) -> None:
        self.session.add(job)
        self.session.flush()

    def list_for_target(self, target_id: str) -> list[Job]:
        return list(self.session.scalars(select(Job).where(Job.target_id == target_id)))

    def list_active_for_target(self, target_id: str) -> list[Job]:
        return list(
            self.session.scalars(
                select(Job).where(Job.target_id == target_id, Job.status.not_in(TERMINAL_JOB_STATUSES))
            )
        )

    def list_by_status(self, *statuses: str) -> list[Job]:
        return list(self.session.scalars(select(Job).where(Job.status.in_(statuses)).order_by(Job.created_at)))

    def claim(self, job_id: str, worker: str) -> bool:
        """Move a queued job to RUNNING for one worker; False when another got it or it was cancelled."""
        now = utcnow()
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED, Job.cancel_requested.is_(False))
            .values(
                status=JobStatus.RUNNING, worker=worker, started_at=now, heartbeat_at=now, attempts=Job.attempts + 1
            )
        )
        return result.rowcount == 1

    def heartbeat(self, job_id: str) -> bool:
        """Record that the job is alive; return whether a stop was requested."""
        self.session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow()))
        job = self.session.get(Job, job_id, populate_existing=True)
        return job is None or job.cancel_requested

    def finish(self, job_id: str, status: JobStatus, error: str | None = None) -> bool:
        """Set a terminal status unless the job already has one."""
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(TERMINAL_JOB_STATUSES))
            .values(status=status, error=error, finished_at=utcnow())
        )
        return result.rowcount == 1

    def request_stop(self, job_id: str) -> None:
        self.session.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True))
        # A job that never started is cancelled at once.
        self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.CANCELLED, finished_at=utcnow())
        )

    def stale_running(self, older_than: datetime) -> list[Job]:
        return list(
            self.session.scalars(
                select(Job).where(
                    Job.status == JobStatus.RUNNING,
                    (Job.heartbeat_at.is_(None)) | (Job.heartbeat_at < older_than),
                )
            )
        )

    def delete_for_target(self, target_id: str) -> None:
        for job in self.list_for_target(target_id):
            self.session.delete(job)
        self.session.flush()
