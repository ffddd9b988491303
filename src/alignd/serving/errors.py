"""Errors the serving engine raises. Each carries its HTTP status and a stable code."""

from alignd.errors import BadRequest, NotFound


class ModelNotLoaded(NotFound):
    """The model is not in the engine, or was unloaded while a request was generating on it."""

    code = "model_not_loaded"


class ContextLengthExceeded(BadRequest):
    code = "context_length_exceeded"


class MaxTokensTooLarge(BadRequest):
    code = "max_tokens_too_large"


class InvalidGenerationParams(BadRequest):
    code = "invalid_generation_params"


class InvalidPrompt(BadRequest):
    code = "invalid_prompt"


class AdapterLoadFailed(BadRequest):
    code = "adapter_load_failed"
