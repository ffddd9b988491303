"""Benchmarks: question and reference answer sets that evaluations run against."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alignd.db.base import Base, TimestampMixin, UTCDateTime


class BenchmarkStatus(StrEnum):
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class BenchmarkSource(StrEnum):
    GENERATED = "generated"
    UPLOADED = "uploaded"


class Benchmark(TimestampMixin, Base):
    __tablename__ = "benchmarks"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    # Documents the questions come from. Domain violations are measured against their text.
    document_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Questions asked for at creation; a generated benchmark may end up with fewer.
    num_questions_requested: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Training data generator that wrote the questions of a generated benchmark.
    data_generator: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=BenchmarkStatus.PROCESSING)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    questions: Mapped[list["BenchmarkQuestion"]] = relationship(
        back_populates="benchmark",
        order_by="BenchmarkQuestion.question_num",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class BenchmarkQuestion(Base):
    __tablename__ = "benchmark_questions"
    __table_args__ = (UniqueConstraint("benchmark_id", "question_num"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    benchmark_id: Mapped[str] = mapped_column(ForeignKey("benchmarks.id", ondelete="CASCADE"), index=True)
    question_num: Mapped[int] = mapped_column(Integer, nullable=False)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False)
    # The document a generated question comes from; None for uploaded questions.
    document_id: Mapped[str | None] = mapped_column(String(40), nullable=True)

    benchmark: Mapped[Benchmark] = relationship(back_populates="questions")
