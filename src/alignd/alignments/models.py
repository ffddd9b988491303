"""Alignment projects. The aligned model of a project lives on the same row."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alignd.db.base import Base, TimestampMixin, UTCDateTime


class ProjectStatus(StrEnum):
    PROCESSING = "PROCESSING"
    EVALUATING = "EVALUATING"
    READY = "READY"
    FAILED = "FAILED"


class ModelStatus(StrEnum):
    UNDEPLOYED = "UNDEPLOYED"
    DEPLOYING = "DEPLOYING"
    DEPLOYED = "DEPLOYED"
    UNDEPLOYING = "UNDEPLOYING"


class AlignmentProject(TimestampMixin, Base):
    __tablename__ = "alignment_projects"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    base_model: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=ProjectStatus.PROCESSING)
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Snapshot of the documents at creation: [{"id": ..., "filename": ...}]. It stays when a
    # document is deleted, because the project keeps the data it derived.
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    workflow_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    benchmark_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    evaluation_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    data_generator: Mapped[str] = mapped_column(String(32), nullable=False, default="extractive")
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    performance_metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dataset_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    training_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    estimated_completion: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # The aligned model.
    model_id: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    model_status: Mapped[str] = mapped_column(String(16), nullable=False, default=ModelStatus.UNDEPLOYED)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    usage_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    conversation_saving_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    # Set when a delete has begun. Such a row is invisible to every route, and the next
    # start finishes purging it if the process died in the middle of the delete.
    deleting: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, index=True)


class ModelTask(TimestampMixin, Base):
    """A deploy or undeploy task of an aligned model."""

    __tablename__ = "model_tasks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("alignment_projects.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="PENDING")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    endpoint_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
