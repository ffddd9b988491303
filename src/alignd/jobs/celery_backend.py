"""Job backend that sends jobs to Celery workers over the broker (multi-node mode).

The API node only publishes messages; ``alignd worker`` processes run the jobs. The API
node also runs the stale-job sweep, so a job whose worker died ends FAILED even when no
worker is left to notice.
"""

import threading

from celery import Celery
from kombu.exceptions import KombuError

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.jobs.celery_app import RUN_JOB_TASK, create_celery_app
from alignd.jobs.models import JobStatus
from alignd.jobs.repository import JobRepository
from alignd.jobs.sweeper import PeriodicSweeper, fail_stale_jobs
from alignd.logging import get_logger

log = get_logger(__name__)

# How often a publish to an unreachable broker is retried before the job is left for the sweeper.
_PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 2.0}


class CeleryJobBackend:
    """Publishes each committed job id as a Celery task on ``settings.celery_queue``."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.settings = settings
        self.app = app or create_celery_app(settings)
        self._unsent: set[str] = set()
        self._unsent_lock = threading.Lock()
        self._sweeper = PeriodicSweeper("alignd-job-sweeper", settings.job_stale_seconds / 2, self._sweep)

    def start(self) -> None:
        # A job stays QUEUED without a message when its API node died between commit and publish,
        # or when the broker lost its data. Publishing those again is safe: a duplicate message is
        # skipped by the claim in supervise_job.
        with session_scope(self.settings) as session:
            queued = [job.id for job in JobRepository(session).list_by_status(JobStatus.QUEUED)]
        for job_id in queued:
            self.submit(job_id)
        self._sweeper.start()
        log.info("celery.backend_started", queue=self.settings.celery_queue, resubmitted=len(queued))

    def submit(self, job_id: str) -> None:
        """Publish the job; on a broker failure keep it for the sweeper to publish again."""
        try:
            self.app.send_task(
                RUN_JOB_TASK,
                args=[job_id],
                task_id=job_id,
                queue=self.settings.celery_queue,
                retry=True,
                retry_policy=_PUBLISH_RETRY_POLICY,
            )
        except (KombuError, OSError) as exc:
            with self._unsent_lock:
                self._unsent.add(job_id)
            log.error("celery.publish_failed", job_id=job_id, error=f"{type(exc).__name__}: {exc}")
            return
        log.info("celery.job_sent", job_id=job_id, queue=self.settings.celery_queue)

    def _sweep(self) -> None:
        with self._unsent_lock:
            retry, self._unsent = self._unsent, set()
        for job_id in retry:
            self.submit(job_id)
        fail_stale_jobs(self.settings)

    def shutdown(self) -> None:
        self._sweeper.stop()
        self.app.close()
