"""Job backends: where queued jobs run. The embedded one uses threads of this process."""

import queue
import threading
from typing import Protocol

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.jobs.models import JobStatus
from alignd.jobs.repository import JobRepository
from alignd.jobs.supervisor import supervise_job
from alignd.logging import get_logger

log = get_logger(__name__)


class JobBackend(Protocol):
    def start(self) -> None: ...

    def submit(self, job_id: str) -> None:
        """Hand a committed QUEUED job to the backend."""
        ...

    def shutdown(self) -> None: ...


class EmbeddedJobBackend:
    """Runs jobs on worker threads; each job body runs in its own child process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._shutdown = threading.Event()

    def start(self) -> None:
        for index in range(self.settings.max_concurrent_jobs):
            thread = threading.Thread(target=self._work, name=f"alignd-job-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        # Jobs queued before a restart never started: run them now.
        with session_scope(self.settings) as session:
            queued = [job.id for job in JobRepository(session).list_by_status(JobStatus.QUEUED)]
        for job_id in queued:
            self.submit(job_id)

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._shutdown.is_set():
                return
            try:
                supervise_job(self.settings, job_id, self._shutdown)
            except Exception:  # noqa: BLE001 - one broken job must not stop the runner
                log.exception("job.supervisor_error", job_id=job_id)

    def shutdown(self) -> None:
        """Stop running jobs (they fail as interrupted) and end the worker threads."""
        self._shutdown.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
