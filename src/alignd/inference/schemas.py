"""OpenAI-style request and response bodies of the inference routes."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignd.serving.engine import GenerationParams
from alignd.serving.params import MAX_CHOICES, MAX_STOP_STRINGS

# max_tokens when a request leaves it out. A lower max_tokens_cap of the server lowers it further.
DEFAULT_MAX_TOKENS = 256


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    # "developer" is the newer OpenAI name for "system", so the chat template gets "system".
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

    def as_template_message(self) -> dict[str, str]:
        role = "system" if self.role == "developer" else self.role
        if isinstance(self.content, str):
            return {"role": role, "content": self.content}
        return {"role": role, "content": "".join(part.text for part in self.content)}


class SamplingFields(BaseModel):
    """Fields shared by chat and text completions. Fields of the OpenAI API that alignd does not use are ignored."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model: str = Field(min_length=1, max_length=300)
    max_tokens: int | None = Field(default=None, ge=1, description="Maximum number of tokens to generate for each choice.")
    max_completion_tokens: int | None = Field(
        default=None, ge=1, description="Newer OpenAI name for max_tokens. When both are set, max_tokens wins."
    )
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="0 picks the most likely token.")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=MAX_CHOICES)
    stop: str | list[str] | None = None
    stream: bool | None = False
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > MAX_STOP_STRINGS:
            raise ValueError(f"stop may hold at most {MAX_STOP_STRINGS} strings, got {len(stops)}")
        if any(stop == "" for stop in stops):
            raise ValueError("stop strings must not be empty")
        return value

    def generation_params(self, max_tokens_cap: int) -> GenerationParams:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        max_tokens = self.max_tokens or self.max_completion_tokens or min(DEFAULT_MAX_TOKENS, max_tokens_cap)
        return GenerationParams(
            max_tokens=max_tokens,
            temperature=1.0 if self.temperature is None else self.temperature,
            top_p=1.0 if self.top_p is None else self.top_p,
            top_k=self.top_k,
            n=self.n or 1,
            stop=stops,
            seed=self.seed,
        )


class ChatCompletionRequest(SamplingFields):
    messages: list[ChatMessage] = Field(min_length=1)


class CompletionRequest(SamplingFields):
    prompt: str | list[str]

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError(f"prompt must be a string or a list of exactly one string, got a list of {len(value)}")
        return value

    @property
    def prompt_text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    # Mean probability of the generated tokens over all choices, in [0, 1], for aligned models only.
    confidence_score: float | None = None


class TextChoice(BaseModel):
    index: int
    text: str
    finish_reason: str
    logprobs: None = None


class TextCompletion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[TextChoice]
    usage: Usage
    confidence_score: float | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
