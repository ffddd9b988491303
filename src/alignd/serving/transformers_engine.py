"""Serving engine on transformers and peft. Placeholder until the engine lands."""

from alignd.config import Settings


class TransformersEngine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded: dict[str, object] = {}

    def load_adapter(self, model_id, base_model, adapter_dir):  # type: ignore[no-untyped-def]
        self._loaded[model_id] = adapter_dir

    def unload_adapter(self, model_id):  # type: ignore[no-untyped-def]
        self._loaded.pop(model_id, None)

    def is_loaded(self, model_id):  # type: ignore[no-untyped-def]
        return model_id in self._loaded

    def shutdown(self) -> None:
        self._loaded.clear()
