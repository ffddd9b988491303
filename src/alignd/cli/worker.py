"""``alignd worker``: run a Celery worker that executes alignd's training and evaluation jobs."""

import multiprocessing
import os
from enum import StrEnum

import typer
from celery.signals import worker_process_init, worker_ready

from alignd.config import get_settings
from alignd.db.engine import dispose_engines
from alignd.db.migrate import upgrade_database
from alignd.jobs.celery_app import create_celery_app
from alignd.jobs.supervisor import start_process_server
from alignd.jobs.sweeper import stale_job_sweeper
from alignd.logging import configure_logging, get_logger

log = get_logger(__name__)


class Pool(StrEnum):
    SOLO = "solo"
    PREFORK = "prefork"


@worker_process_init.connect
def _prepare_pool_process(**_: object) -> None:
    # A prefork pool process inherits the database connections of the worker's main process.
    dispose_engines(close=False)
    # Pool processes are daemonic, and multiprocessing refuses to start children from a daemonic
    # process. The job child may start anyway: its supervisor kills it on a stop, and it exits by
    # itself when the supervisor dies.
    process = multiprocessing.current_process()
    process.daemon = False
    # billiard installs its own process object, whose authkey multiprocessing refuses to pickle.
    process._config["authkey"] = multiprocessing.process.AuthenticationString(os.urandom(32))


@worker_ready.connect
def _log_ready(**_: object) -> None:
    log.info("worker.ready")


def worker(
    concurrency: int = typer.Option(
        1, "--concurrency", "-c", min=1,
        help="Jobs this worker runs at once, one pool process each. Needs --pool prefork when above 1.",
    ),
    queues: str | None = typer.Option(
        None, "--queues", "-Q", help="Comma-separated Celery queues to consume. Default: ALIGND_CELERY_QUEUE.",
    ),
    pool: Pool = typer.Option(
        Pool.SOLO, "--pool", "-P", case_sensitive=False,
        help="'solo' runs jobs in this process, one at a time; 'prefork' runs them in --concurrency pool processes.",
    ),
    loglevel: str | None = typer.Option(
        None, "--loglevel", "-l", help="Lowest level of log lines written. Default: ALIGND_LOG_LEVEL.",
    ),
    hostname: str | None = typer.Option(
        None, "--hostname", "-n", help="Celery node name, for example 'gpu1@%h'. Default: celery@<host name>.",
    ),
) -> None:
    """Run the jobs that API nodes send through the broker (ALIGND_BROKER_URL).

    SIGTERM or Ctrl-C waits for running jobs to finish; SIGQUIT or a second Ctrl-C stops them at once.
    """
    if pool is Pool.SOLO and concurrency > 1:
        raise typer.BadParameter(
            f"--concurrency {concurrency} needs --pool prefork; the solo pool runs one job at a time.",
            param_hint="--concurrency",
        )
    settings = get_settings()
    if loglevel is not None:
        settings.log_level = loglevel
    configure_logging(settings.log_level, settings.log_json)
    queue_names = [name.strip() for name in (queues or settings.celery_queue).split(",") if name.strip()]
    if not queue_names:
        raise typer.BadParameter(f"--queues {queues!r} names no queue.", param_hint="--queues")

    if settings.job_backend != "celery":
        log.warning("worker.job_backend_not_celery", job_backend=settings.job_backend,
                    hint="API nodes send jobs to workers only when ALIGND_JOB_BACKEND is 'celery'.")
    settings.ensure_dirs()
    upgrade_database(settings)
    # The pool processes must not share the connections that the migration opened.
    dispose_engines()

    if pool is Pool.SOLO:
        # Import torch in the fork server before taking jobs. A prefork pool process cannot do
        # this at its start, because Celery gives a new pool process 4 s to report ready.
        start_process_server()
    app = create_celery_app(settings)
    sweeper = stale_job_sweeper(settings)
    sweeper.start()
    log.info("worker.starting", queues=queue_names, pool=pool.value, concurrency=concurrency,
             artifacts=str(settings.artifacts_dir))
    try:
        celery_worker = app.Worker(
            pool=pool.value, concurrency=concurrency, queues=queue_names, loglevel=settings.log_level.upper(),
            hostname=hostname, optimization="fair",
        )
        celery_worker.start()
    finally:
        sweeper.stop()
        log.info("worker.stopped")
    raise typer.Exit(celery_worker.exitcode or 0)
