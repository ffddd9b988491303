"""User-settable training hyperparameters, validated with the field name and value in errors."""

from pydantic import BaseModel, ConfigDict, Field


class Hyperparameters(BaseModel):
    """Optional overrides; alignd picks a default for each missing field from the data and device."""

    # strict: "2" and true are rejected for integers instead of being converted.
    model_config = ConfigDict(extra="forbid", strict=True)

    epochs: int | None = Field(default=None, ge=1, le=100, description="Passes over the training data.")
    max_steps: int | None = Field(
        default=None, ge=1, le=100_000, description="Optimizer steps; when set it overrides epochs."
    )
    learning_rate: float | None = Field(
        default=None, gt=0, le=1, allow_inf_nan=False, description="Peak learning rate."
    )
    lora_r: int | None = Field(default=None, ge=1, le=256, description="LoRA rank.")
    lora_alpha: int | None = Field(default=None, ge=1, le=1024, description="LoRA scaling numerator.")
    batch_size: int | None = Field(default=None, ge=1, le=512, description="Sequences per optimizer step.")
    max_seq_length: int | None = Field(
        default=None, ge=16, le=8192, description="Tokens per packed training sequence."
    )
    seed: int | None = Field(
        default=None, ge=0, le=2**32 - 1, description="Random seed for data order and LoRA init (numpy's range)."
    )
