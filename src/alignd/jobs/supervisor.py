"""Run one job in a child process: heartbeat, honour stop requests, record how it ended.

The embedded runner and the Celery worker both call ``supervise_job``, so a job behaves
the same wherever it runs.
"""

import multiprocessing
import os
import socket
import threading
import time
from multiprocessing.context import BaseContext

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.jobs.models import JobStatus
from alignd.jobs.registry import failure_hook_for
from alignd.jobs.repository import JobRepository
from alignd.logging import get_logger

log = get_logger(__name__)

# Modules the fork server imports once, so each job child starts without paying for them.
_PRELOAD = ["torch", "transformers", "peft", "alignd.jobs.child"]
_context: BaseContext | None = None
_server_ready = False


def _mp_context() -> BaseContext:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        _context = context
    return _context


def start_process_server() -> None:
    """Start the fork server and wait until it has imported torch; later calls return at once.

    ``supervise_job`` calls this before it claims a job, because nothing writes the job's
    heartbeat until its child runs, and on a loaded machine these imports can take longer
    than ``job_stale_seconds``.
    """
    global _server_ready
    if _server_ready:
        return
    probe = _mp_context().Process(target=time.sleep, args=(0,))
    probe.start()
    probe.join()
    _server_ready = True


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _terminate(process: multiprocessing.process.BaseProcess, grace_seconds: float = 5.0) -> None:
    process.terminate()
    process.join(grace_seconds)
    if process.is_alive():
        process.kill()
        process.join()


def fail_job(settings: Settings, job_id: str, kind: str, target_id: str, error: str) -> bool:
    """Fail a job that has not ended, and its resource; False when the job had ended already.

    Only the caller that wins the compare-and-set on the job fails the resource, so a job that
    finished meanwhile keeps the resource's state. The job's stop flag is set as well, so a
    supervisor that was only slow, not dead, reads it at its next heartbeat and kills the job
    child before it writes again.
    """
    with session_scope(settings) as session:
        repo = JobRepository(session)
        if not repo.finish(job_id, JobStatus.FAILED, error):
            return False
        repo.request_stop(job_id)
        hook = failure_hook_for(kind)
        if hook is not None:
            hook(session, target_id, error)
    return True


INTERRUPTED_ERROR = "Interrupted: alignd stopped while this job ran. Create it again to retry."


def supervise_job(settings: Settings, job_id: str, shutdown: threading.Event | None = None) -> str:
    """Claim and run a queued job to its end; return its final status.

    When ``shutdown`` is set, the job child is stopped and the job fails as interrupted, so a
    stopping service leaves no job running behind it.
    """
    start_process_server()
    with session_scope(settings) as session:
        repo = JobRepository(session)
        job = repo.get(job_id)
        if job is None or not repo.claim(job_id, worker_name()):
            log.info("job.skipped", job_id=job_id, reason="not queued or already claimed")
            return job.status if job is not None else "MISSING"
        kind, target_id = job.kind, job.target_id

    from alignd.jobs.child import run_job_in_child

    process = _mp_context().Process(
        target=run_job_in_child, args=(settings.model_dump_json(), job_id, kind, os.getpid()), daemon=False
    )
    process.start()
    log.info("job.started", job_id=job_id, kind=kind, target_id=target_id, pid=process.pid)

    stop_requested = False
    next_heartbeat = 0.0
    while process.is_alive():
        process.join(0.25)
        if shutdown is not None and shutdown.is_set():
            _terminate(process)
            fail_job(settings, job_id, kind, target_id, INTERRUPTED_ERROR)
            log.warning("job.interrupted_by_shutdown", job_id=job_id, kind=kind, target_id=target_id)
            return JobStatus.FAILED
        now = time.monotonic()
        if now < next_heartbeat:
            continue
        next_heartbeat = now + settings.job_heartbeat_seconds
        with session_scope(settings) as session:
            stop_requested = JobRepository(session).heartbeat(job_id)
        if stop_requested:
            log.info("job.stopping", job_id=job_id, kind=kind, target_id=target_id)
            _terminate(process)
            break

    if stop_requested:
        with session_scope(settings) as session:
            JobRepository(session).finish(job_id, JobStatus.CANCELLED, "Stopped on request.")
        log.info("job.stopped", job_id=job_id, kind=kind, target_id=target_id)
        return JobStatus.CANCELLED

    with session_scope(settings) as session:
        job = JobRepository(session).get(job_id)
        status = job.status if job is not None else JobStatus.CANCELLED
    if status == JobStatus.RUNNING:
        error = f"The job process exited with code {process.exitcode} before finishing."
        fail_job(settings, job_id, kind, target_id, error)
        log.error("job.process_died", job_id=job_id, kind=kind, exit_code=process.exitcode)
        return JobStatus.FAILED
    log.info("job.finished", job_id=job_id, kind=kind, target_id=target_id, status=status)
    return status
