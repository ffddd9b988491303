"""Queries on benchmarks and their questions."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ProjectStatus
from alignd.benchmarks.models import Benchmark, BenchmarkQuestion

# Longer than any benchmark id the service creates; a longer id cannot match and is not queried.
_MAX_ID_CHARS = 40


def is_queryable_id(value: str) -> bool:
    # PostgreSQL rejects NUL characters in text parameters, so such an id would fail the query.
    return 0 < len(value) <= _MAX_ID_CHARS and "\x00" not in value


class BenchmarkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, benchmark_id: str) -> Benchmark | None:
        if not is_queryable_id(benchmark_id):
            return None
        return self.session.get(Benchmark, benchmark_id)

    def get_for_user(self, user_id: str, benchmark_id: str) -> Benchmark | None:
        if not is_queryable_id(benchmark_id):
            return None
        return self.session.scalar(
            select(Benchmark).where(Benchmark.id == benchmark_id, Benchmark.user_id == user_id)
        )

    def list_for_user(self, user_id: str) -> list[Benchmark]:
        return list(
            self.session.scalars(
                select(Benchmark)
                .where(Benchmark.user_id == user_id)
                .order_by(Benchmark.created_at.desc(), Benchmark.id.desc())
            )
        )

    def question_counts(self, benchmark_ids: list[str]) -> dict[str, int]:
        if not benchmark_ids:
            return {}
        rows = self.session.execute(
            select(BenchmarkQuestion.benchmark_id, func.count())
            .where(BenchmarkQuestion.benchmark_id.in_(benchmark_ids))
            .group_by(BenchmarkQuestion.benchmark_id)
        )
        return {benchmark_id: count for benchmark_id, count in rows}

    def questions(self, benchmark_id: str) -> list[BenchmarkQuestion]:
        return list(
            self.session.scalars(
                select(BenchmarkQuestion)
                .where(BenchmarkQuestion.benchmark_id == benchmark_id)
                .order_by(BenchmarkQuestion.question_num)
            )
        )

    def add(self, benchmark: Benchmark) -> None:
        self.session.add(benchmark)
        self.session.flush()

    def replace_questions(self, benchmark_id: str, questions: list[BenchmarkQuestion]) -> None:
        """Drop any questions the benchmark has and store ``questions`` instead."""
        for row in self.questions(benchmark_id):
            self.session.delete(row)
        self.session.flush()
        for row in questions:
            row.benchmark_id = benchmark_id
            self.session.add(row)
        self.session.flush()

    def delete(self, benchmark: Benchmark) -> None:
        self.session.delete(benchmark)
        self.session.flush()

    def active_projects_using(self, benchmark_id: str) -> list[str]:
        """Ids of projects that will still evaluate on the benchmark: training or evaluating, not deleting."""
        return list(
            self.session.scalars(
                select(AlignmentProject.id).where(
                    AlignmentProject.benchmark_id == benchmark_id,
                    AlignmentProject.deleting.is_(False),
                    AlignmentProject.status.in_((ProjectStatus.PROCESSING, ProjectStatus.EVALUATING)),
                )
            )
        )
