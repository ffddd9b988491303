"""Response bodies of aligned models and their deploy and undeploy tasks."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AlignedModelOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    id: str
    alignment_id: str
    name: str
    base_model: str
    alignment_project: str
    created_date: datetime
    status: str
    deployment_status: str
    endpoint: str | None
    creator: str
    usage_count: int
    last_used: datetime | None
    performance_metrics: dict[str, Any]
    downloadable: bool
    evaluation_data: dict[str, Any] | None
    conversation_saving_enabled: bool


class AlignedModelListOut(BaseModel):
    domain_aligned_models: list[AlignedModelOut]


class AlignedModelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_saving_enabled: bool


class ModelTaskStatusOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model_id: str
    status: str
    result: dict[str, Any] | None
    start_time: datetime | None
    end_time: datetime | None
