"""Default hyperparameters, chosen from the amount of document text and the training device.

User values always win. ``max_steps`` is settled last, once the packed training set is known.
"""

import math
from typing import Any

from alignd.errors import BadRequest

SEED = 42
LEARNING_RATE = 2e-4
# Packed block length. A step's cost grows with the block length, so CPUs get shorter blocks.
MAX_SEQ_LENGTH = {"cpu": 256, "cuda": 1024}
BATCH_SIZE = {"cpu": 4, "cuda": 16}
# Default max_steps never exceeds this when epochs is a default too, so a large corpus on CPU still ends.
MAX_DEFAULT_STEPS = {"cpu": 300, "cuda": 3000}


class HyperparameterConflict(BadRequest):
    code = "invalid_hyperparameters"


def resolve_device(setting: str) -> str:
    """Map the ``device`` setting (auto, cpu, cuda) to the device that trains."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("ALIGND_DEVICE is 'cuda' but torch finds no CUDA device. Set it to 'auto' or 'cpu'.")
    return setting


def default_epochs(document_tokens: int) -> int:
    # Small corpora need more passes to leave a mark; large ones get enough steps from one pass.
    if document_tokens < 10_000:
        return 5
    if document_tokens < 100_000:
        return 3
    if document_tokens < 1_000_000:
        return 2
    return 1


def check_for_model(user: dict[str, Any], context_length: int) -> None:
    """Raise HyperparameterConflict (400) when user values do not fit the base model."""
    max_seq_length = user.get("max_seq_length")
    if max_seq_length is not None and max_seq_length > context_length:
        raise HyperparameterConflict(
            f"max_seq_length {max_seq_length} is larger than the base model's context length "
            f"{context_length}. Use a value of at most {context_length}."
        )


def choose_hyperparameters(
    user: dict[str, Any], document_tokens: int, device: str, context_length: int
) -> dict[str, Any]:
    """Merge user values over defaults for everything except ``max_steps``."""
    check_for_model(user, context_length)
    values = {key: value for key, value in user.items() if value is not None}
    lora_r = values.get("lora_r", 8 if document_tokens < 20_000 else 16)
    chosen = {
        "epochs": default_epochs(document_tokens),
        "learning_rate": LEARNING_RATE,
        "lora_r": lora_r,
        "lora_alpha": 2 * lora_r,
        "batch_size": BATCH_SIZE[device],
        "max_seq_length": min(MAX_SEQ_LENGTH[device], context_length),
        "seed": SEED,
    }
    chosen.update(values)
    return chosen


def settle_max_steps(
    hyperparameters: dict[str, Any], user: dict[str, Any], train_blocks: int, device: str
) -> dict[str, Any]:
    """Set ``max_steps`` from the packed block count and epochs, unless the user gave it."""
    if user.get("max_steps") is not None:
        return hyperparameters
    steps_per_epoch = max(1, math.ceil(train_blocks / hyperparameters["batch_size"]))
    steps = steps_per_epoch * hyperparameters["epochs"]
    if user.get("epochs") is None:
        steps = min(steps, MAX_DEFAULT_STEPS[device])
    return {**hyperparameters, "max_steps": steps}


def chunk_token_budget(max_seq_length: int) -> int:
    """Return the chunk size, in tokens: half a block, so a question and its answer fit in one block."""
    return max(32, min(512, max_seq_length // 2))
