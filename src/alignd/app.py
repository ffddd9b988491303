"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from alignd import __version__
from alignd.api.access_log import AccessLogMiddleware
from alignd.api.errors import install_error_handlers
from alignd.api.routes import include_routes
from alignd.config import Settings, get_settings
from alignd.logging import configure_logging, get_logger
from alignd.startup import start_runtime, stop_runtime

log = get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = start_runtime(settings)
        app.state.runtime = runtime
        app.state.session_factory = runtime.session_factory
        app.state.ready = True
        log.info("service.started", home=str(settings.home_dir), job_backend=settings.job_backend)
        try:
            yield
        finally:
            app.state.ready = False
            stop_runtime(runtime)
            log.info("service.stopped")

    app = FastAPI(title="alignd", version=__version__, lifespan=lifespan)
    app.state.ready = False
    install_error_handlers(app)
    app.add_middleware(AccessLogMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    include_routes(app)
    return app
