"""Check that a local model can be aligned, and turn GGUF files into safetensors checkpoints."""

from dataclasses import dataclass
from pathlib import Path

from alignd.errors import BadRequest
from alignd.logging import get_logger

log = get_logger(__name__)

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")


class InvalidBaseModel(BadRequest):
    code = "invalid_base_model"


@dataclass
class CheckpointFacts:
    architecture: str
    context_length: int
    parameter_count: int


def context_length_of(config) -> int:  # type: ignore[no-untyped-def]
    for attribute in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048


def inspect_checkpoint(path: Path) -> CheckpointFacts:
    """Load a Hugging Face checkpoint folder fully; raise InvalidBaseModel naming what is wrong."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    if not path.is_dir():
        raise InvalidBaseModel(
            f"Model path '{path}' is not a folder. Pass a Hugging Face checkpoint folder or a .gguf file."
        )
    if not (path / "config.json").is_file():
        raise InvalidBaseModel(
            f"Checkpoint folder '{path}' has no config.json, so it is not a Hugging Face checkpoint."
        )
    if not any(any(path.glob(pattern)) for pattern in WEIGHT_PATTERNS):
        raise InvalidBaseModel(f"Checkpoint folder '{path}' has no weights (*.safetensors or pytorch_model*.bin).")

    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidBaseModel(f"The config.json in '{path}' cannot be read: {exc}") from None
    causal_class = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(config.model_type)
    saved_classes = list(getattr(config, "architectures", None) or [])
    if causal_class is None or (saved_classes and causal_class not in saved_classes):
        saved = ", ".join(saved_classes) or config.model_type
        raise InvalidBaseModel(
            f"Checkpoint '{path}' contains {saved}, not a causal language model with its head "
            "(for example LlamaForCausalLM), so it cannot generate text or be aligned."
        )

    # transformers 5 builds an empty tokenizer from the model type when the files are missing.
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise InvalidBaseModel(
            f"Checkpoint '{path}' has no tokenizer files (one of {', '.join(TOKENIZER_FILES)}). "
            "Save the tokenizer into it."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except Exception as exc:  # noqa: BLE001 - any tokenizer load failure rejects the model
        raise InvalidBaseModel(f"Checkpoint '{path}' has no tokenizer that transformers can load: {exc}") from None
    if tokenizer.eos_token_id is None:
        raise InvalidBaseModel(f"The tokenizer in '{path}' defines no eos_token, so generation could not stop.")

    try:
        model, loading_info = AutoModelForCausalLM.from_pretrained(path, output_loading_info=True)
    except Exception as exc:  # noqa: BLE001 - any load failure (safetensors, torch, transformers) rejects the model
        raise InvalidBaseModel(f"The weights in '{path}' cannot be loaded as a causal language model: {exc}") from None
    missing = sorted(loading_info.get("missing_keys") or [])
    if missing:
        raise InvalidBaseModel(
            f"The weights in '{path}' lack {len(missing)} tensors of {type(model).__name__}, "
            f"for example {missing[0]}, so part of the model would be random."
        )

    return CheckpointFacts(
        architecture=type(model).__name__,
        context_length=context_length_of(config),
        parameter_count=sum(parameter.numel() for parameter in model.parameters()),
    )


def convert_gguf(gguf_path: Path, target_dir: Path) -> None:
    """Dequantize a GGUF file into a float32 safetensors checkpoint with tokenizer and chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, filename = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - any failure of the gguf reader or loader rejects the file
        raise InvalidBaseModel(f"GGUF file '{gguf_path}' cannot be loaded as a causal language model: {exc}") from None

    # transformers rejects save_pretrained on a model loaded from GGUF, so the weights move
    # into a plain model built from the same config without its quantization entry.
    config_values = quantized.config.to_dict()
    config_values.pop("quantization_config", None)
    config_values.pop("_name_or_path", None)
    config = type(quantized.config).from_dict(config_values)
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict())
    plain.generation_config = quantized.generation_config
    del quantized

    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    plain.save_pretrained(target_dir)
    tokenizer.save_pretrained(target_dir)
    log.info("catalog.gguf_converted", gguf_file=filename, architecture=type(plain).__name__)
