"""State of a running alignd process: settings, database, job backend and serving engine."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from alignd.config import Settings

if TYPE_CHECKING:
    from alignd.deployments.reconcile import ModelSync
    from alignd.jobs.backend import JobBackend
    from alignd.serving.engine import ServingEngine


@dataclass
class Runtime:
    settings: Settings
    session_factory: sessionmaker[Session]
    jobs: "JobBackend"
    engine: "ServingEngine"
    # Multi-node mode only: the loop that loads the models other nodes deployed.
    model_sync: "ModelSync | None" = None


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime
