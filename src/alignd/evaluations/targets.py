"""Resolving a model id to its weights: a catalog base model, or a base model plus a project's adapter."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ProjectStatus
from alignd.catalog.service import list_base_models
from alignd.config import Settings
from alignd.errors import BadRequest, NotFound


class ModelNotFound(NotFound):
    code = "model_not_found"


class ModelNotReady(BadRequest):
    code = "model_not_ready"


@dataclass(frozen=True)
class ModelTarget:
    # The id the user gave: a base model name or an aligned model id.
    model_id: str
    # The catalog name of the base model.
    base_model: str
    # The LoRA adapter folder of an aligned model; None for a base model.
    adapter_dir: Path | None = None

    @property
    def engine_model(self) -> str:
        """The name to pass to the serving engine once the adapter, if any, is loaded under ``model_id``."""
        return self.model_id if self.adapter_dir is not None else self.base_model


def adapter_dir(settings: Settings, project_id: str) -> Path:
    return settings.project_dir(project_id) / "adapter"


def resolve_target(session: Session, settings: Settings, user_id: str, model_id: str) -> ModelTarget:
    """Resolve a model id of the user; raise ModelNotFound for unknown or foreign ids.

    An aligned model need not be deployed, but its project must be READY so that its adapter exists.
    """
    if "\x00" in model_id:
        raise ModelNotFound(f"Model {model_id!r} not found.")
    project = session.scalar(
        select(AlignmentProject).where(
            AlignmentProject.model_id == model_id,
            AlignmentProject.user_id == user_id,
            AlignmentProject.deleting.is_(False),
        )
    )
    if project is not None:
        folder = adapter_dir(settings, project.id)
        if project.status != ProjectStatus.READY or not folder.is_dir():
            raise ModelNotReady(
                f"Aligned model '{model_id}' has no trained adapter yet (project '{project.id}' is "
                f"{project.status}); evaluate it once the project is READY."
            )
        return ModelTarget(model_id=model_id, base_model=project.base_model, adapter_dir=folder)

    for info in list_base_models(settings):
        if model_id == info.id or model_id in info.aliases:
            if info.reason is not None:
                raise ModelNotReady(f"Base model '{model_id}' cannot be loaded on this installation: {info.reason}")
            return ModelTarget(model_id=model_id, base_model=info.id)
    raise ModelNotFound(f"Model '{model_id}' not found.")
