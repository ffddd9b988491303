"""Evaluations: one or two models answering a benchmark, with per-answer scores."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alignd.db.base import Base, TimestampMixin, UTCDateTime


class EvaluationStatus(StrEnum):
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class Evaluation(TimestampMixin, Base):
    __tablename__ = "evaluations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Slot 1 and slot 2 models. Each is a base model name or an aligned model id.
    model_id: Mapped[str] = mapped_column(String(300), nullable=False, index=True)
    model_id_2: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # No foreign key: a finished evaluation keeps its results after its benchmark is deleted.
    benchmark_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    # Set on a project's automatic evaluation: slot 1 is the base model before training,
    # slot 2 the aligned model after it.
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("alignment_projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=EvaluationStatus.PROCESSING)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    custom_metrics: Mapped[list[str]] = mapped_column(JSON, default=list)
    total_questions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Questions of the running pass that every model of the pass has answered.
    completed_questions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Generation time of the running pass, summed over its completed questions.
    answer_seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    # Thresholds and weights the scores were computed with, copied from the settings at the start.
    scoring: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics_1: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    metrics_2: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EvaluationAnswer(Base):
    """One model's answer to one benchmark question, with its scores."""

    __tablename__ = "evaluation_answers"
    __table_args__ = (UniqueConstraint("evaluation_id", "slot", "question_num"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evaluation_id: Mapped[str] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    slot: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 for model_id, 2 for model_id_2
    question_num: Mapped[int] = mapped_column(Integer, nullable=False)
    # Copies of the benchmark question, so results outlive the benchmark.
    question: Mapped[str] = mapped_column(Text, nullable=False)
    expected_answer: Mapped[str] = mapped_column(Text, nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False)
    # semantic_similarity, token_f1, score, correct, mean_entropy, confidence,
    # domain_similarity, domain_violation and, with the judge, judge_score.
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
