"""Periodic sweeps that fail jobs whose worker died, for the multi-node (Celery) mode.

Every API node and every worker runs one sweeper. Sweeps on several nodes may race: the
compare-and-set ``finish`` lets one of them record the failure and the others skip it.
"""

import threading
from collections.abc import Callable
from datetime import timedelta

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.jobs.repository import JobRepository
from alignd.jobs.supervisor import fail_job
from alignd.logging import get_logger
from alignd.timeutil import utcnow

log = get_logger(__name__)


# The step that runs a failed job again, by job kind, for its error message.
_RETRY_HINTS = {
    "align": "Create the project again to retry.",
    "evaluate": "Start the evaluation again to retry.",
    "benchmark": "Create the benchmark again to retry.",
}


def _stale_job_error(settings: Settings, kind: str) -> str:
    return (
        f"Interrupted: the worker running this job sent no heartbeat for {settings.job_stale_seconds:g} s "
        f"(it crashed, was killed or lost the database). {_RETRY_HINTS.get(kind, 'Start it again to retry.')}"
    )


def fail_stale_jobs(settings: Settings) -> list[str]:
    """Fail RUNNING jobs whose heartbeat is older than ``job_stale_seconds``; return their ids.

    NOTE: heartbeats carry the clock of the node that writes them, so node clocks must agree to
    well within ``job_stale_seconds`` (NTP). A node whose clock runs ahead fails live jobs as stale.
    """
    cutoff = utcnow() - timedelta(seconds=settings.job_stale_seconds)
    with session_scope(settings) as session:
        stale = [(job.id, job.kind, job.target_id) for job in JobRepository(session).stale_running(cutoff)]

    failed = []
    for job_id, kind, target_id in stale:
        if fail_job(settings, job_id, kind, target_id, _stale_job_error(settings, kind)):
            failed.append(job_id)
            log.warning("job.stale_failed", job_id=job_id, kind=kind, target_id=target_id)
    return failed


class PeriodicSweeper:
    """Runs ``sweep()`` on a daemon thread every ``interval`` seconds until ``stop()``."""

    def __init__(self, name: str, interval: float, sweep: Callable[[], object]) -> None:
        self.name = name
        self.interval = interval
        self._sweep = sweep
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stopped.wait(self.interval):
            try:
                self._sweep()
                failures = 0
            except Exception:  # noqa: BLE001 - a failed pass (database away) is retried on the next tick
                failures += 1
                # Log the first failures and then every 20th, so a long outage does not flood the log.
                if failures <= 3 or failures % 20 == 0:
                    log.exception("sweeper.pass_failed", sweeper=self.name, consecutive_failures=failures)


def stale_job_sweeper(settings: Settings) -> PeriodicSweeper:
    """Return a sweeper that fails stale jobs every ``job_stale_seconds / 2``."""
    return PeriodicSweeper("alignd-stale-jobs", settings.job_stale_seconds / 2, lambda: fail_stale_jobs(settings))
