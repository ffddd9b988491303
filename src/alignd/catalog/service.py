"""Base model catalog interface: built-in models plus the user's registered ones."""

from dataclasses import dataclass, field
from pathlib import Path

from alignd.config import Settings
from alignd.errors import BadRequest


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


def list_base_models(settings: Settings) -> list[BaseModelInfo]:
    raise NotImplementedError  # TODO: replaced by the catalog implementation.


def resolve_base_model(settings: Settings, name: str) -> BaseModelInfo:
    """Return the catalog entry for a name or alias; raise BaseModelNotAlignable otherwise."""
    raise NotImplementedError  # TODO: replaced by the catalog implementation.


def ensure_checkpoint(settings: Settings, name: str) -> Path:
    """Return a local Hugging Face checkpoint folder (weights and tokenizer) for the model.

    Builds or converts it into the model cache once, also when several processes ask at once.
    """
    raise NotImplementedError  # TODO: replaced by the catalog implementation.
