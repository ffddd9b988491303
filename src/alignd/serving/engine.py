"""The serving engine interface. Routes and the deploy service use only this."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass
class GenerationParams:
    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    n: int = 1
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop" or "length"
    completion_tokens: int
    # Mean probability of the generated tokens, in [0, 1].
    confidence: float
    # Mean entropy of the next-token distributions, in nats.
    mean_entropy: float


@dataclass
class GenerationResult:
    prompt_tokens: int
    completions: list[Completion]


@dataclass
class StreamDelta:
    text: str
    finish_reason: str | None = None
    completion: Completion | None = None  # set on the last delta


class ServingEngine(Protocol):
    """Holds base models and LoRA adapters in memory and generates text.

    ``model`` arguments are a base model name from the catalog or a loaded adapter's
    model id. Implementations must share one copy of a base model's weights between
    every adapter on it.
    """

    def load_adapter(self, model_id: str, base_model: str, adapter_dir: Path) -> None: ...

    def unload_adapter(self, model_id: str) -> None: ...

    def is_loaded(self, model_id: str) -> bool: ...

    def generate_chat(self, model: str, messages: list[dict[str, str]], params: GenerationParams) -> GenerationResult: ...

    def generate_text(self, model: str, prompt: str, params: GenerationParams) -> GenerationResult: ...

    def stream_chat(self, model: str, messages: list[dict[str, str]], params: GenerationParams) -> Iterator[StreamDelta]: ...

    def stream_text(self, model: str, prompt: str, params: GenerationParams) -> Iterator[StreamDelta]: ...

    def shutdown(self) -> None: ...
