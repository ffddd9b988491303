"""Response bodies of the base model catalog."""

from pydantic import BaseModel, Field


class BaseModelOut(BaseModel):
    id: str = Field(description="Name to pass as base_model when creating an alignment project.")
    description: str
    supports_alignment: bool = Field(description="Whether this installation can align the model now.")
    architecture: str = Field(description="transformers model class, for example LlamaForCausalLM.")
    context_length: int = Field(description="Maximum sequence length the model accepts, in tokens.")
    aliases: list[str] = Field(description="Other names that select the same model.")
    source: str = Field(description="'builtin' for models that come with alignd, 'user' for registered ones.")
    reason: str | None = Field(description="Why the model cannot be aligned; null when it can.")


class BaseModelListOut(BaseModel):
    models: list[BaseModelOut]
