"""Start and stop the pieces of a running alignd process."""

from alignd.config import Settings
from alignd.db.engine import session_factory
from alignd.db.migrate import upgrade_database
from alignd.jobs.backend import EmbeddedJobBackend, JobBackend
from alignd.jobs.service import bind_backend, recover_interrupted_jobs
from alignd.logging import get_logger
from alignd.runtime import Runtime

log = get_logger(__name__)


def build_job_backend(settings: Settings) -> JobBackend:
    if settings.job_backend == "embedded":
        return EmbeddedJobBackend(settings)
    if settings.job_backend == "celery":
        from alignd.jobs.celery_backend import CeleryJobBackend

        return CeleryJobBackend(settings)
    raise ValueError(f"ALIGND_JOB_BACKEND must be 'embedded' or 'celery', not {settings.job_backend!r}.")


def start_runtime(settings: Settings) -> Runtime:
    from alignd.alignments.purge import finish_pending_deletes
    from alignd.deployments.reconcile import start_model_sync
    from alignd.deployments.service import restore_deployments
    from alignd.serving.factory import build_engine

    settings.ensure_dirs()
    upgrade_database(settings)
    factory = session_factory(settings)
    jobs = build_job_backend(settings)
    bind_backend(factory, jobs)
    runtime = Runtime(settings=settings, session_factory=factory, jobs=jobs, engine=build_engine(settings))

    finish_pending_deletes(settings)
    recover_interrupted_jobs(settings)
    restore_deployments(runtime)
    runtime.model_sync = start_model_sync(runtime)
    jobs.start()
    return runtime


def stop_runtime(runtime: Runtime) -> None:
    if runtime.model_sync is not None:
        runtime.model_sync.stop()
    runtime.jobs.shutdown()
    runtime.engine.shutdown()
