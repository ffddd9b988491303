"""Request and response bodies of the evaluation routes."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator


class MetricName(StrEnum):
    ACCURACY = "accuracy"
    UNCERTAINTY = "uncertainty"
    DOMAIN_VIOLATIONS = "domain_violations"
    SEMANTIC_SIMILARITY = "semantic_similarity"
    TOKEN_F1 = "token_f1"
    CONFIDENCE = "confidence"
    LLM_JUDGE = "llm_judge"


class CreateEvaluationRequest(BaseModel):
    model_id: str = Field(min_length=1, max_length=300, description="Base model name or aligned model id.")
    benchmark_id: str = Field(min_length=1, max_length=200)
    model_id_2: str | None = Field(
        default=None, min_length=1, max_length=300, description="Second model, for a side-by-side comparison."
    )
    custom_metrics: list[MetricName] | None = Field(
        default=None,
        max_length=len(MetricName),
        description=(
            "Metric names. Every evaluation computes all offline metrics; 'llm_judge' adds a grade from the "
            "configured judge endpoint."
        ),
    )

    @model_validator(mode="after")
    def _second_model_differs(self) -> "CreateEvaluationRequest":
        if self.model_id_2 is not None and self.model_id_2 == self.model_id:
            raise ValueError(f"model_id_2 '{self.model_id_2}' must differ from model_id to compare two models.")
        return self


class EvaluationCreated(BaseModel):
    evaluation_id: str
    model_id: str
    model_id_2: str | None
    status: str
    benchmark_id: str
    created_at: datetime
    message: str


class EvaluationOut(BaseModel):
    evaluation_id: str
    model_id: str
    model_id_2: str | None
    benchmark_id: str
    # Set on the automatic evaluation of an alignment project.
    project_id: str | None
    status: str
    progress: str
    total_questions: int
    completed_questions: int
    custom_metrics: list[str]
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error: str | None


class EvaluationStatusOut(BaseModel):
    evaluation_id: str
    status: str
    progress: str
    total_questions: int
    completed_questions: int
    remaining_questions: int
    progress_percent: float
    average_seconds_per_question: float | None
    estimated_seconds_remaining: float | None
    estimated_completion: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    error: str | None


class EvaluationResults(BaseModel):
    evaluation_id: str
    status: str
    model_id: str
    model_id_2: str | None
    benchmark_id: str
    project_id: str | None
    total_questions: int
    # Metrics of model_id; metrics_2 of model_id_2. metrics_by_model has both keyed by model id.
    metrics: dict[str, Any] | None
    metrics_2: dict[str, Any] | None
    metrics_by_model: dict[str, dict[str, Any]]
    # model_id_2 minus model_id for every numeric metric both have; None without a second model.
    comparison: dict[str, float] | None
    settings: dict[str, float]
    completed_at: datetime | None


class EvaluationList(BaseModel):
    evaluations: list[EvaluationOut]
    total: int
    limit: int
    offset: int


class EvaluationDeleted(BaseModel):
    id: str
    message: str
