"""Base models and LoRA adapters in memory, one copy of each base shared by its adapters.

The first adapter on a base wraps it with ``PeftModel.from_pretrained``, and later ones are
added with ``load_adapter`` and removed with ``delete_adapter``. Requests choose their
adapter with ``set_adapter`` (or switch the adapter layers off for the base model itself)
under the base's lock, which every forward pass and every adapter change holds.
"""

import gc
import inspect
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch
from peft import PeftModel
from peft.tuners.tuners_utils import BaseTunerLayer
from peft.utils.other import AuxiliaryTrainingWrapper
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from alignd.catalog.service import BaseModelInfo, ensure_checkpoint, list_base_models
from alignd.config import Settings
from alignd.logging import get_logger
from alignd.serving.errors import AdapterLoadFailed, ModelNotLoaded

log = get_logger(__name__)

# Marks that the adapter layers are in a state this store did not set, so the next
# activation sets them in full.
_UNKNOWN = object()
_SAFE_ADAPTER_NAME = re.compile(r"[A-Za-z0-9_\-]{1,200}")


def resolve_device(setting: str) -> torch.device:
    """Turn ALIGND_DEVICE ('auto', 'cpu', 'cuda' or 'cuda:N') into a torch device."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def _dtype_for(device: torch.device) -> torch.dtype:
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@dataclass(eq=False)
class LoadedAdapter:
    model_id: str
    base_name: str
    adapter_name: str
    adapter_dir: Path
    # Set by unload_adapter before it removes the weights. A request generating on the
    # adapter checks it before every forward pass.
    unloaded: bool = False


@dataclass(eq=False)
class LoadedBase:
    name: str
    model: PreTrainedModel | None
    tokenizer: PreTrainedTokenizerBase
    context_length: int
    eos_token_ids: set[int]
    # Name of the forward argument that takes the KV cache: "cache" in transformers 5,
    # "past_key_values" before.
    cache_argument: str = "past_key_values"
    lock: threading.Lock = field(default_factory=threading.Lock)
    peft: PeftModel | None = None
    adapters: dict[str, LoadedAdapter] = field(default_factory=dict)
    # True once a request asked for the base model itself. Such a base stays loaded when
    # its last adapter goes.
    serves_base: bool = False
    dropped: bool = False
    _active: object = _UNKNOWN
    # The LoRA layers of the model, when fast switching applies to it (see _switchable_layers).
    _layers: list[BaseTunerLayer] | None = None

    def activate(self, adapter: LoadedAdapter | None) -> None:
        """Make ``adapter`` (or no adapter) the one forward passes use. Hold ``lock``."""
        target = adapter.adapter_name if adapter is not None else None
        if self.peft is None or self._active == target:
            return
        if self._layers is not None:
            _switch_layers(self._layers, target)
        elif target is None:
            self.peft.base_model.disable_adapter_layers()
        else:
            if self._active is _UNKNOWN or self._active is None:
                self.peft.base_model.enable_adapter_layers()
            self.peft.set_adapter(target, inference_mode=True)
        self._active = target

    def forget_active(self) -> None:
        """Note that the adapters changed, so the next activation sets every layer again."""
        self._active = _UNKNOWN
        self._layers = _switchable_layers(self.peft.base_model.model) if self.peft is not None else None


class ModelStore:
    """Loads, shares and frees models. Loads and unloads run one at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.device = resolve_device(settings.device)
        self._bases: dict[str, LoadedBase] = {}
        self._adapters: dict[str, LoadedAdapter] = {}
        # Catalog name or alias -> catalog id, filled as names are resolved.
        self._aliases: dict[str, str] = {}
        self._changes = threading.RLock()
        self._adapter_names = 0

    def has_adapter(self, model_id: str) -> bool:
        return model_id in self._adapters

    def describe(self) -> dict[str, list[str]]:
        return {name: sorted(base.adapters) for name, base in list(self._bases.items())}

    def target(self, model: str) -> tuple[LoadedBase, LoadedAdapter | None]:
        """Return the base and adapter that serve ``model``, loading a base model on first use."""
        adapter = self._adapters.get(model)
        if adapter is not None:
            base = self._bases.get(adapter.base_name)
            if base is None or adapter.unloaded:
                raise ModelNotLoaded(f"Model '{model}' was unloaded.")
            return base, adapter

        name = self._aliases.get(model, model)
        base = self._bases.get(name)
        if base is not None and base.serves_base and not base.dropped:
            return base, None
        info = self._catalog_entry(model)
        if info is None:
            raise ModelNotLoaded(f"Model '{model}' is neither a loaded adapter nor a base model of the catalog.")
        with self._changes:
            base = self._bases.get(info.id) or self._load_base(info)
            base.serves_base = True
        return base, None

    def load_adapter(self, model_id: str, base_model: str, adapter_dir: Path) -> None:
        if not (adapter_dir / "adapter_config.json").is_file():
            raise AdapterLoadFailed(f"Adapter folder '{adapter_dir}' has no adapter_config.json. Train the model first.")
        info = self._catalog_entry(base_model)
        if info is None:
            raise AdapterLoadFailed(f"Base model '{base_model}' of adapter '{model_id}' is not in the catalog.")

        with self._changes:
            existing = self._adapters.get(model_id)
            if existing is not None:
                if existing.base_name != info.id:
                    raise AdapterLoadFailed(
                        f"Adapter '{model_id}' is already loaded on base model '{existing.base_name}', "
                        f"not '{info.id}'. Unload it first."
                    )
                return
            base = self._bases.get(info.id) or self._load_base(info)
            adapter = LoadedAdapter(model_id, info.id, self._adapter_name_for(model_id), adapter_dir)
            try:
                with base.lock:
                    self._attach(base, adapter)
            except Exception as exc:
                self._after_failed_attach(base, adapter)
                raise AdapterLoadFailed(f"Adapter '{model_id}' from '{adapter_dir}' failed to load: {exc}") from exc
            base.adapters[model_id] = adapter
            self._adapters[model_id] = adapter
        log.info("serving.adapter_loaded", model_id=model_id, base_model=info.id, adapters_on_base=len(base.adapters))

    def unload_adapter(self, model_id: str) -> None:
        with self._changes:
            adapter = self._adapters.get(model_id)
            if adapter is None:
                log.info("serving.adapter_not_loaded", model_id=model_id)
                return
            adapter.unloaded = True
            base = self._bases[adapter.base_name]
            with base.lock:
                del self._adapters[model_id]
                del base.adapters[model_id]
                self._detach(base, adapter)
            dropped_base = base.dropped
        # Collect before returning so the adapter's tensors are freed once unload returns.
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        log.info("serving.adapter_unloaded", model_id=model_id, base_model=adapter.base_name, base_dropped=dropped_base)

    def shutdown(self) -> None:
        with self._changes:
            for adapter in self._adapters.values():
                adapter.unloaded = True
            for base in self._bases.values():
                with base.lock:
                    self._drop(base)
            self._adapters.clear()
            self._bases.clear()
        gc.collect()

    def _catalog_entry(self, name: str) -> BaseModelInfo | None:
        for info in list_base_models(self.settings):
            # The catalog marks a model that cannot be used on this installation as not alignable.
            if not info.supports_alignment:
                continue
            if name == info.id or name in info.aliases:
                self._aliases[name] = info.id
                return info
        return None

    def _load_base(self, info: BaseModelInfo) -> LoadedBase:
        checkpoint = ensure_checkpoint(self.settings, info.id)
        log.info("serving.base_loading", base_model=info.id, device=str(self.device))
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=_dtype_for(self.device))
        model.to(self.device)
        model.eval()

        context_length = info.context_length
        max_positions = getattr(model.config, "max_position_embeddings", None)
        if isinstance(max_positions, int) and max_positions > 0:
            context_length = min(context_length, max_positions) if context_length else max_positions
        base = LoadedBase(
            name=info.id,
            model=model,
            tokenizer=tokenizer,
            context_length=context_length,
            eos_token_ids=_eos_token_ids(model, tokenizer),
            cache_argument="cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values",
        )
        self._bases[info.id] = base
        log.info("serving.base_loaded", base_model=info.id, context_length=context_length)
        return base

    def _adapter_name_for(self, model_id: str) -> str:
        # peft uses adapter names as module keys, which must not contain dots.
        self._adapter_names += 1
        if _SAFE_ADAPTER_NAME.fullmatch(model_id):
            return model_id
        return f"alignd_adapter_{self._adapter_names}"

    def _attach(self, base: LoadedBase, adapter: LoadedAdapter) -> None:
        if base.peft is None:
            base.peft = PeftModel.from_pretrained(
                base.model,
                adapter.adapter_dir,
                adapter_name=adapter.adapter_name,
                is_trainable=False,
                autocast_adapter_dtype=False,
                torch_device=str(self.device),
            )
        else:
            base.peft.load_adapter(
                adapter.adapter_dir,
                adapter_name=adapter.adapter_name,
                is_trainable=False,
                autocast_adapter_dtype=False,
                torch_device=str(self.device),
            )
        base.peft.eval()
        base.forget_active()

    def _after_failed_attach(self, base: LoadedBase, adapter: LoadedAdapter) -> None:
        """Leave no half-loaded adapter behind after _attach raised."""
        with base.lock:
            if base.peft is not None and adapter.adapter_name in base.peft.peft_config:
                if base.adapters:
                    base.peft.delete_adapter(adapter.adapter_name)
                else:
                    base.model = base.peft.unload()
                    base.peft = None
            base.forget_active()
            if not base.adapters and not base.serves_base:
                self._drop(base)
                del self._bases[base.name]

    def _detach(self, base: LoadedBase, adapter: LoadedAdapter) -> None:
        """Remove the adapter's weights from the base, and drop the base if nothing uses it. Hold base.lock."""
        assert base.peft is not None
        if base.adapters:
            # Deleting the active adapter makes peft pick another one and warn, so activate a
            # remaining adapter through peft first, which also brings peft's own record up to date.
            remaining = next(iter(base.adapters.values()))
            base.peft.set_adapter(remaining.adapter_name, inference_mode=True)
            base.peft.delete_adapter(adapter.adapter_name)
            base.forget_active()
            return
        if base.serves_base:
            base.model = base.peft.unload()
            base.peft = None
            base.forget_active()
            return
        self._drop(base)
        del self._bases[base.name]

    def _drop(self, base: LoadedBase) -> None:
        base.dropped = True
        base.model = None
        base.peft = None
        base.adapters.clear()


def _eos_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif isinstance(configured, list):
        ids.update(token for token in configured if isinstance(token, int))
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def _switchable_layers(model: torch.nn.Module) -> list[BaseTunerLayer] | None:
    """Return the model's LoRA layers if they can be switched by setting two fields, else None.

    peft's set_adapter and enable_adapter_layers walk every module and reset requires_grad
    on every adapter weight, which costs about a millisecond per few dozen layers (measured
    on CPU with peft 0.21). Requests on different adapters of one base alternate token by
    token, so the engine sets the fields that those methods set instead. Models with
    auxiliary modules (modules_to_save, trainable tokens) keep peft's own switching.
    """
    layers = []
    for module in model.modules():
        if isinstance(module, AuxiliaryTrainingWrapper):
            return None
        if isinstance(module, BaseTunerLayer):
            # NOTE: these private fields back peft's active_adapter and disable_adapters
            # properties (checked on peft 0.21). Without them, the engine falls back to the public API.
            if not (hasattr(module, "_active_adapter") and hasattr(module, "_disable_adapters")):
                return None
            layers.append(module)
    return layers


def _switch_layers(layers: list[BaseTunerLayer], adapter_name: str | None) -> None:
    for layer in layers:
        if adapter_name is None:
            layer._disable_adapters = True
        else:
            layer._active_adapter = [adapter_name]
            layer._disable_adapters = False
