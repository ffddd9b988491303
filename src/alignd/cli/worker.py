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
    loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="Lowest level of log lines written."),
    hostname: str | None = typer.Option(
        None, "--hostname", "-n", help="Celery node name, for example 'gpu1@%h'. Default: celery@<host name>.",
    ),
) -> None:
    """Run jobs that API nodes send through the broker (ALIGND_BROKER_URL); stop with Ctrl-C or SIGTERM.

    A warm shutdown (SIGTERM, Ctrl-C) waits for running jobs to finish. A cold shutdown
    (SIGQUIT, or a second SIGTERM) stops them at once, and the API nodes then fail them
    after ALIGND_JOB_STALE_SECONDS.
    """
    if pool is Pool.SOLO and concurrency > 1:
        raise typer.BadParameter(
            f"--concurrency {concurrency} needs --pool prefork; the solo pool runs one job at a time.",
            param_hint="--concurrency",
        )
    settings = get_settings()
    settings.log_level = loglevel
    configure_logging(loglevel, settings.log_json)
    queue_names = [name.strip() for name in (queues or settings.celery_queue).split(",") if name.strip()]
    if not queue_names:
        raise typer.BadParameter(f"--queues {queues!r} names no queue.", param_hint="--queues")

    settings.ensure_dirs()
    upgrade_database(settings)
    # The pool processes must not share the connections that the migration opened.
    dispose_engines()

    app = create_celery_app(settings)
    sweeper = stale_job_sweeper(settings)
    sweeper.start()
    log.info("worker.starting", queues=queue_names, pool=pool.value, concurrency=concurrency,
             artifacts=str(settings.artifacts_dir))
    try:
        celery_worker = app.Worker(
            pool=pool.value, concurrency=concurrency, queues=queue_names, loglevel=loglevel.upper(),
            hostname=hostname, optimization="fair",
        )
        celery_worker.start()
    finally:
        sweeper.stop()
        log.info("worker.stopped")
    raise typer.Exit(celery_worker.exitcode or 0)
