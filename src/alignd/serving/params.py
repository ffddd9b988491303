"""Checks on generation parameters, shared by every engine implementation.

The HTTP routes validate the same fields with pydantic first. These checks guard callers
that use the engine directly, such as evaluations, and the server-wide max_tokens cap.
"""

from alignd.serving.engine import GenerationParams
from alignd.serving.errors import InvalidGenerationParams, MaxTokensTooLarge

# Largest number of choices one request may ask for (the OpenAI parameter ``n``).
MAX_CHOICES = 16
# Largest number of stop strings one request may give, as in the OpenAI API.
MAX_STOP_STRINGS = 4


def check_params(params: GenerationParams, max_tokens_cap: int) -> None:
    """Raise a 400 error that names the field and the value of the first invalid parameter."""
    if params.max_tokens < 1:
        raise InvalidGenerationParams(f"max_tokens must be at least 1, got {params.max_tokens}.")
    if params.max_tokens > max_tokens_cap:
        raise MaxTokensTooLarge(
            f"max_tokens is {params.max_tokens}, above this server's limit of {max_tokens_cap} "
            "(ALIGND_MAX_TOKENS_CAP). Ask for fewer tokens."
        )
    if not 0.0 <= params.temperature <= 2.0:
        raise InvalidGenerationParams(f"temperature must be between 0 and 2, got {params.temperature}.")
    if not 0.0 < params.top_p <= 1.0:
        raise InvalidGenerationParams(f"top_p must be greater than 0 and at most 1, got {params.top_p}.")
    if params.top_k is not None and params.top_k < 1:
        raise InvalidGenerationParams(f"top_k must be at least 1 when given, got {params.top_k}.")
    if not 1 <= params.n <= MAX_CHOICES:
        raise InvalidGenerationParams(f"n must be between 1 and {MAX_CHOICES}, got {params.n}.")
    if len(params.stop) > MAX_STOP_STRINGS:
        raise InvalidGenerationParams(f"stop may hold at most {MAX_STOP_STRINGS} strings, got {len(params.stop)}.")
    if any(not stop for stop in params.stop):
        raise InvalidGenerationParams("stop strings must not be empty, got an empty string.")
