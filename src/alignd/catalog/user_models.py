"""Base models that the operator registers: the catalog file ``<home>/models.json``."""

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

from alignd.catalog.builtin import BUILTIN_MODELS, file_fingerprint
from alignd.catalog.cache import cached_checkpoint
from alignd.catalog.checkpoints import InvalidBaseModel, convert_gguf, inspect_checkpoint
from alignd.config import Settings
from alignd.errors import NotFound
from alignd.logging import get_logger

log = get_logger(__name__)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class UserModel:
    id: str
    path: str
    format: str  # "checkpoint" (a Hugging Face folder) or "gguf"
    description: str
    architecture: str
    context_length: int
    parameter_count: int
    added_at: float


def catalog_path(settings: Settings) -> Path:
    return settings.home_dir / "models.json"


def read_user_models(settings: Settings) -> list[UserModel]:
    """Return the registered models; raise InvalidBaseModel when the catalog file is not valid."""
    path = catalog_path(settings)
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["models"]
        return [UserModel(**entry) for entry in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidBaseModel(f"The model catalog file '{path}' is not valid: {exc}. Fix or remove it.") from None


def _write_user_models(settings: Settings, models: list[UserModel]) -> None:
    path = catalog_path(settings)
    temp_path = path.with_suffix(".json.tmp")
    temp_path.write_text(json.dumps({"models": [asdict(model) for model in models]}, indent=2), encoding="utf-8")
    os.replace(temp_path, path)


def gguf_cache_folder(model: UserModel) -> str:
    return f"user-{model.id}-{file_fingerprint(Path(model.path))}"


def user_checkpoint(settings: Settings, model: UserModel) -> Path:
    """Return the checkpoint folder of a registered model, converting a GGUF file once."""
    path = Path(model.path)
    if model.format == "checkpoint":
        return path
    return cached_checkpoint(
        settings.model_cache_dir,
        gguf_cache_folder(model),
        lambda target: convert_gguf(path, target),
        {"source": str(path)},
    )


def user_model_problem(model: UserModel) -> str | None:
    """Return why a registered model cannot be used now (its files are gone), or None."""
    path = Path(model.path)
    if model.format == "gguf" and not path.is_file():
        return f"its GGUF file '{path}' no longer exists"
    if model.format == "checkpoint" and not path.is_dir():
        return f"its checkpoint folder '{path}' no longer exists"
    return None


def _check_name(settings: Settings, name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidBaseModel(
            f"Model name '{name}' is invalid: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    builtin_names = {model.id.lower() for model in BUILTIN_MODELS}
    builtin_names |= {alias.lower() for model in BUILTIN_MODELS for alias in model.aliases}
    if name.lower() in builtin_names:
        raise InvalidBaseModel(f"Model name '{name}' is the name of a built-in model. Choose another name.")
    if any(model.id.lower() == name.lower() for model in read_user_models(settings)):
        raise InvalidBaseModel(f"Model name '{name}' is already registered. Remove it first to register it again.")


def add_user_model(settings: Settings, name: str, path: Path, description: str = "") -> UserModel:
    """Register a local checkpoint folder or GGUF file after loading it fully; raise InvalidBaseModel if it fails."""
    path = path.expanduser().resolve()
    _check_name(settings, name)
    if not path.exists():
        raise InvalidBaseModel(f"Model path '{path}' does not exist.")

    model = UserModel(
        id=name,
        path=str(path),
        format="gguf" if path.is_file() else "checkpoint",
        description=description or f"Registered from {path}.",
        architecture="",
        context_length=0,
        parameter_count=0,
        added_at=time.time(),
    )
    if model.format == "gguf" and path.suffix.lower() != ".gguf":
        raise InvalidBaseModel(
            f"Model path '{path}' is a file but not a .gguf file. Pass a GGUF file or a checkpoint folder."
        )

    facts = inspect_checkpoint(user_checkpoint(settings, model))
    model.architecture = facts.architecture
    model.context_length = facts.context_length
    model.parameter_count = facts.parameter_count

    settings.home_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(catalog_path(settings)) + ".lock"):
        _check_name(settings, name)
        _write_user_models(settings, [*read_user_models(settings), model])
    log.info("catalog.model_added", model_id=name, format=model.format, architecture=model.architecture)
    return model


def remove_user_model(settings: Settings, name: str) -> None:
    """Remove a registered model from the catalog; its files stay where they are."""
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(catalog_path(settings)) + ".lock"):
        models = read_user_models(settings)
        remaining = [model for model in models if model.id != name]
        if len(remaining) == len(models):
            raise NotFound(f"No registered model is named '{name}'.", code="base_model_not_found")
        _write_user_models(settings, remaining)
    log.info("catalog.model_removed", model_id=name)
