"""Inference rules: which model a name means for the caller, usage counting, conversation saving."""

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from alignd.auth.models import User
from alignd.catalog.service import BaseModelInfo, list_base_models
from alignd.config import Settings
from alignd.deployments.reconcile import ensure_loaded
from alignd.errors import NotFound
from alignd.ids import new_id
from alignd.inference.repository import InferenceRepository
from alignd.inference.schemas import ModelCard, ModelList
from alignd.serving.engine import Completion, ServingEngine
from alignd.timeutil import utcnow

BASE_MODEL_OWNER = "alignd"


class ModelNotFound(NotFound):
    code = "model_not_found"


def model_not_found(name: str) -> ModelNotFound:
    """Build the one 404 for unknown, undeployed, deleted and foreign models alike."""
    return ModelNotFound(f"Model '{name}' not found. GET /v1/models lists the models you can call.")


@dataclass(frozen=True)
class ServedModel:
    """The model a request runs on."""

    # The name the caller sent, echoed in responses.
    name: str
    # The model name passed to the serving engine: a catalog id or an aligned model id.
    engine_model: str
    # Set for aligned models only.
    project_id: str | None = None
    conversation_saving: bool = False

    @property
    def aligned(self) -> bool:
        return self.project_id is not None


def servable_base_models(settings: Settings) -> list[BaseModelInfo]:
    """Return the catalog's base models that this installation can load (the ones it can also align)."""
    return [info for info in list_base_models(settings) if info.supports_alignment]


def resolve_model(session: Session, settings: Settings, engine: ServingEngine, user: User, name: str) -> ServedModel:
    """Return the caller's deployed aligned model or the catalog base model called ``name``; 404 otherwise."""
    project = InferenceRepository(session).get_deployed(user.id, name)
    if project is not None:
        # In multi-node mode this loads a model that another API node deployed moments ago.
        if not ensure_loaded(settings, engine, project):
            raise model_not_found(name)
        return ServedModel(
            name=name,
            engine_model=project.model_id,
            project_id=project.id,
            conversation_saving=project.conversation_saving_enabled,
        )

    for info in servable_base_models(settings):
        if name == info.id or name in info.aliases:
            return ServedModel(name=name, engine_model=info.id)
    raise model_not_found(name)


def list_models(session: Session, settings: Settings, user: User) -> ModelList:
    cards = [ModelCard(id=info.id, created=0, owned_by=BASE_MODEL_OWNER) for info in servable_base_models(settings)]
    for project in InferenceRepository(session).list_deployed(user.id):
        created = int((project.deployed_at or project.created_at).timestamp())
        cards.append(ModelCard(id=project.model_id, created=created, owned_by=user.id))
    return ModelList(data=cards)


def record_use(session: Session, served: ServedModel) -> None:
    """Count one request on an aligned model; base models keep no counter."""
    if served.project_id is not None:
        InferenceRepository(session).record_use(served.project_id, utcnow())


def save_exchange(
    session: Session, served: ServedModel, session_id: str, request_turn: tuple[str, str], reply: str
) -> None:
    """Store the caller's last message and the model's reply when the project saves conversations."""
    if served.project_id is None or not served.conversation_saving:
        return
    repo = InferenceRepository(session)
    if not repo.project_visible(served.project_id):
        return
    repo.add_messages(served.project_id, session_id, [request_turn, ("assistant", reply)])


def new_session_id() -> str:
    return new_id("sess")


def confidence_score(served: ServedModel, completions: list[Completion]) -> float | None:
    """Mean confidence over the choices, reported for aligned models only."""
    if not served.aligned or not completions:
        return None
    return sum(completion.confidence for completion in completions) / len(completions)


def unix_time() -> int:
    return int(time.time())
