"""The Celery application shared by API nodes (which send jobs) and workers (which run them).

A message carries only a job id. The worker reloads the job from the database and runs it
through ``supervise_job``, the same code that the embedded backend runs. A message that
arrives twice, or one for a job that was cancelled meanwhile, loses the compare-and-set
claim in ``supervise_job`` and is dropped.
"""

from celery import Celery

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.jobs.models import JobStatus
from alignd.jobs.repository import JobRepository
from alignd.jobs.supervisor import supervise_job, worker_name
from alignd.jobs.supervisor import fail_job
from alignd.logging import get_logger

log = get_logger(__name__)

# The task is sent by name, so an API node never imports worker-only code to enqueue a job.
RUN_JOB_TASK = "alignd.jobs.run_job"


def create_celery_app(settings: Settings) -> Celery:
    """Build the Celery app for ``settings``; its one task runs a job in this process's settings."""
    app = Celery("alignd", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_default_queue=settings.celery_queue,
        # A job's message is acknowledged only when the job has ended, and goes back to the queue
        # when the worker process dies, so a job whose worker died before claiming it still runs.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        # Keep running jobs when the Redis connection drops. Celery 5.x does so by default, and its
        # deprecation warning says that 6.0 will cancel them instead.
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )

    @app.task(name=RUN_JOB_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def run_job(job_id: str) -> str:
        log.info("celery.job_received", job_id=job_id, queue=settings.celery_queue)
        try:
            return str(supervise_job(settings, job_id))
        except Exception as exc:
            _fail_if_claimed_here(settings, job_id, f"The worker could not run the job: {type(exc).__name__}: {exc}")
            raise

    return app


def _fail_if_claimed_here(settings: Settings, job_id: str, error: str) -> None:
    """Fail a job this process claimed but could not supervise, instead of waiting for the stale sweep."""
    with session_scope(settings) as session:
        job = JobRepository(session).get(job_id)
        claimed_here = job is not None and job.status == JobStatus.RUNNING and job.worker == worker_name()
        ref = (job.kind, job.target_id) if job is not None else None
    if claimed_here and ref is not None:
        fail_job(settings, job_id, ref[0], ref[1], error)
        log.error("celery.job_failed_to_start", job_id=job_id, error=error)
