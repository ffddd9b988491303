"""The serving engine interface. Routes and the deploy service use only this."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass
class GenerationParams:
    max_tokens: int = 256
    # 0 selects the most likely token at every step (greedy decoding).
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
    completion: Completion | None = None  # set on the last delta of a choice
    # Which of the request's ``n`` choices this text belongs to.
    index: int = 0


class GenerationStream(Iterator[StreamDelta]):
    """Deltas of one streaming request, for all its choices interleaved.

    Iterating may raise ``alignd.serving.errors.ModelNotLoaded`` when the model is unloaded
    mid-stream. ``close()`` frees the request's place in the queue. It may be called from
    another thread while a step runs, and then takes effect when that step returns.
    """

    prompt_tokens: int

    def __iter__(self) -> "GenerationStream":
        return self

    def __next__(self) -> StreamDelta:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "GenerationStream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ServingEngine(Protocol):
    """Holds base models and LoRA adapters in memory and generates text.

    ``model`` arguments are a base model name from the catalog or a loaded adapter's
    model id. Implementations must share one copy of a base model's weights between
    every adapter on it.

    Generation methods raise ``alignd.errors.Overloaded`` when the request queue is full,
    ``ModelNotLoaded`` for an unknown model, and ``BadRequest`` subclasses from
    ``alignd.serving.errors`` for parameters or prompts the model cannot take. The
    ``stream_*`` methods raise those before they return, so a route can answer with an
    HTTP error before it starts a streaming response.
    """

    def load_adapter(self, model_id: str, base_model: str, adapter_dir: Path) -> None: ...

    def unload_adapter(self, model_id: str) -> None:
        """Remove the adapter, returning only once its weights are out of memory."""
        ...

    def is_loaded(self, model_id: str) -> bool: ...

    def loaded_bases(self) -> dict[str, list[str]]:
        """Map each base model in memory to the model ids of the adapters loaded on it."""
        ...

    def generate_chat(self, model: str, messages: list[dict[str, str]], params: GenerationParams) -> GenerationResult: ...

    def generate_text(self, model: str, prompt: str, params: GenerationParams) -> GenerationResult: ...

    def stream_chat(self, model: str, messages: list[dict[str, str]], params: GenerationParams) -> GenerationStream: ...

    def stream_text(self, model: str, prompt: str, params: GenerationParams) -> GenerationStream: ...

    def shutdown(self) -> None: ...
