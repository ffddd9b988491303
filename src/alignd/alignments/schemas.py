"""Request and response bodies of alignment projects."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alignd.training.hyperparameters import Hyperparameters


class CreateProjectRequest(BaseModel):
    # A misspelled field would otherwise be dropped and the project would train with defaults.
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    base_model: str = Field(min_length=1, max_length=200)
    document_ids: list[str] = Field(min_length=1, max_length=1000)
    workflow_id: str | None = Field(default=None, max_length=200)
    benchmark_id: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    hyperparameters: Hyperparameters | None = None
    data_generator: Literal["extractive", "teacher"] = "extractive"

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must contain a visible character")
        return value.strip()


class CreateProjectResponse(BaseModel):
    id: str
    alignment_id: str
    status: str
    model_id: str


class ProjectOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    id: str
    alignment_id: str
    name: str
    description: str | None
    base_model: str
    status: str
    progress: float
    created_date: datetime
    completed_date: datetime | None
    documents: list[str]
    document_count: int
    creator: str
    model_id: str
    deployment_status: str
    performance_metrics: dict[str, Any]
    estimated_completion: datetime | None
    error: str | None
    evaluation_id: str | None
    workflow_id: str | None
    benchmark_id: str | None
    hyperparameters: dict[str, Any]
    data_generator: str
    dataset: dict[str, Any]
    training: dict[str, Any]


class ProjectStatusOut(BaseModel):
    status: str
    progress: float
    data: ProjectOut
    start_time: datetime | None
    end_time: datetime | None


class ProjectListOut(BaseModel):
    alignment_projects: list[ProjectOut]
    total: int
    limit: int
    offset: int


class DeleteProjectResponse(BaseModel):
    alignment_id: str
    message: str


class DatasetOut(BaseModel):
    alignment_id: str
    total: int
    limit: int
    offset: int
    examples: list[dict[str, Any]]
