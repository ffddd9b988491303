"""Entry point of the child process that runs one job's body."""

import os
import threading
import time
import traceback

import alignd.db.registry  # noqa: F401 - maps every table before a job body queries any
from alignd.config import Settings
from alignd.db.engine import dispose_engines, session_scope
from alignd.jobs.models import JobStatus
from alignd.jobs.registry import runner_for
from alignd.jobs.repository import JobRepository
from alignd.logging import configure_logging, get_logger

log = get_logger(__name__)


def _exit_when_orphaned(supervisor_pid: int) -> None:
    """End this process once its supervisor is gone, so no orphan keeps writing files."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(supervisor_pid, 0)
        except ProcessLookupError:
            os._exit(3)
        except PermissionError:
            pass


def _quiet_libraries() -> None:
    """Keep progress bars and library deprecation warnings out of the service log."""
    import warnings

    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning)


def run_job_in_child(settings_json: str, job_id: str, kind: str, supervisor_pid: int) -> None:
    """Run the job body; record SUCCEEDED or FAILED on the job. Killing this process is a valid stop."""
    threading.Thread(target=_exit_when_orphaned, args=(supervisor_pid,), daemon=True).start()
    settings = Settings.model_validate_json(settings_json)
    configure_logging(settings.log_level, settings.log_json)
    _quiet_libraries()
    # Connections inherited through fork must not be shared with the parent.
    dispose_engines()
    log.info("job.child_started", job_id=job_id, kind=kind, pid=os.getpid())
    try:
        runner_for(kind)(settings, job_id)
    except Exception as exc:  # noqa: BLE001 - any failure of the body fails the job
        message = f"{type(exc).__name__}: {exc}"
        log.error("job.failed", job_id=job_id, kind=kind, error=message, traceback=traceback.format_exc())
        with session_scope(settings) as session:
            JobRepository(session).finish(job_id, JobStatus.FAILED, message)
        raise SystemExit(1) from None

    with session_scope(settings) as session:
        JobRepository(session).finish(job_id, JobStatus.SUCCEEDED)
    log.info("job.child_finished", job_id=job_id, kind=kind)
