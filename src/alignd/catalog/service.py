"""Base model catalog: the built-in models plus the ones registered in ``<home>/models.json``.

The catalog belongs to the installation, not to a user: every user sees the same base models.
"""

from dataclasses import dataclass, field
from pathlib import Path

from alignd.catalog.builtin import BUILTIN_MODELS, BuiltinModel, cache_folder_and_builder, unavailable_reason
from alignd.catalog.cache import cached_checkpoint
from alignd.catalog.checkpoints import InvalidBaseModel
from alignd.catalog.user_models import UserModel, read_user_models, user_checkpoint, user_model_problem
from alignd.config import Settings
from alignd.errors import BadRequest
from alignd.logging import get_logger

log = get_logger(__name__)


class BaseModelNotAlignable(BadRequest):
    code = "base_model_not_alignable"


@dataclass
class BaseModelInfo:
    id: str
    description: str
    supports_alignment: bool
    architecture: str
    context_length: int
    aliases: list[str] = field(default_factory=list)
    source: str = "builtin"  # "builtin" or "user"
    # Why the model cannot be aligned on this installation; None when it can.
    reason: str | None = None


def _builtin_info(model: BuiltinModel) -> BaseModelInfo:
    reason = unavailable_reason(model)
    return BaseModelInfo(
        id=model.id,
        description=model.description,
        supports_alignment=reason is None,
        architecture=model.architecture,
        context_length=model.context_length,
        aliases=list(model.aliases),
        source="builtin",
        reason=reason,
    )


def _user_info(model: UserModel) -> BaseModelInfo:
    reason = user_model_problem(model)
    return BaseModelInfo(
        id=model.id,
        description=model.description,
        supports_alignment=reason is None,
        architecture=model.architecture,
        context_length=model.context_length,
        aliases=[],
        source="user",
        reason=reason,
    )


def _user_models_or_none(settings: Settings) -> list[UserModel]:
    # A broken catalog file must not take the built-in models down with it.
    try:
        return read_user_models(settings)
    except InvalidBaseModel as exc:
        log.error("catalog.user_models_unreadable", error=exc.detail)
        return []


def list_base_models(settings: Settings) -> list[BaseModelInfo]:
    """Return every base model, built-in first, including those that cannot be aligned (with a reason)."""
    infos = [_builtin_info(model) for model in BUILTIN_MODELS]
    infos += [_user_info(model) for model in _user_models_or_none(settings)]
    return infos


def _names_hint(infos: list[BaseModelInfo]) -> str:
    names = []
    for info in infos:
        if not info.supports_alignment:
            continue
        names.append(f"{info.id} (alias {', '.join(info.aliases)})" if info.aliases else info.id)
    return ", ".join(names) if names else "none"


def resolve_base_model(settings: Settings, name: str) -> BaseModelInfo:
    """Return the catalog entry for a name or alias; raise BaseModelNotAlignable otherwise."""
    infos = list_base_models(settings)
    match = next((info for info in infos if name == info.id or name in info.aliases), None)
    if match is None:
        raise BaseModelNotAlignable(
            f"Base model '{name}' is not in the catalog. Valid base models: {_names_hint(infos)}."
        )
    if not match.supports_alignment:
        raise BaseModelNotAlignable(
            f"Base model '{name}' cannot be aligned: {match.reason}. Valid base models: {_names_hint(infos)}."
        )
    return match


def ensure_checkpoint(settings: Settings, name: str) -> Path:
    """Return a local Hugging Face checkpoint folder (weights and tokenizer) for the model.

    Builds or converts it into the model cache once, also when several processes ask at once.
    """
    info = resolve_base_model(settings, name)
    if info.source == "user":
        model = next(model for model in read_user_models(settings) if model.id == info.id)
        return user_checkpoint(settings, model)

    builtin = next(model for model in BUILTIN_MODELS if model.id == info.id)
    folder, build, facts = cache_folder_and_builder(builtin)
    return cached_checkpoint(settings.model_cache_dir, folder, build, {"model_id": builtin.id, **facts})
