"""Queries on evaluations and their answers."""

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from alignd.evaluations.models import Evaluation, EvaluationAnswer, EvaluationStatus

# Longer than any evaluation id the service creates; a longer id cannot match and is not queried.
_MAX_ID_CHARS = 40


def is_queryable_id(value: str, max_chars: int = _MAX_ID_CHARS) -> bool:
    # PostgreSQL rejects NUL characters in text parameters, so such an id would fail the query.
    return 0 < len(value) <= max_chars and "\x00" not in value


class EvaluationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, evaluation_id: str) -> Evaluation | None:
        if not is_queryable_id(evaluation_id):
            return None
        return self.session.get(Evaluation, evaluation_id)

    def get_for_user(self, user_id: str, evaluation_id: str) -> Evaluation | None:
        if not is_queryable_id(evaluation_id):
            return None
        return self.session.scalar(
            select(Evaluation).where(Evaluation.id == evaluation_id, Evaluation.user_id == user_id)
        )

    def list_for_user(
        self, user_id: str, *, status: str | None, model_id: str | None, limit: int, offset: int
    ) -> tuple[list[Evaluation], int]:
        """Return one page of the user's evaluations, newest first, and the total that match."""
        query = select(Evaluation).where(Evaluation.user_id == user_id)
        if status is not None:
            query = query.where(Evaluation.status == status)
        if model_id is not None:
            if not is_queryable_id(model_id, max_chars=300):
                return [], 0
            query = query.where(or_(Evaluation.model_id == model_id, Evaluation.model_id_2 == model_id))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(
            query.order_by(Evaluation.created_at.desc(), Evaluation.id.desc()).limit(limit).offset(offset)
        )
        return list(rows), total

    def list_for_project(self, project_id: str) -> list[Evaluation]:
        return list(self.session.scalars(select(Evaluation).where(Evaluation.project_id == project_id)))

    def running_ids_for_benchmark(self, benchmark_id: str) -> list[str]:
        """Ids of PROCESSING evaluations on the benchmark that users started themselves."""
        return list(
            self.session.scalars(
                select(Evaluation.id).where(
                    Evaluation.benchmark_id == benchmark_id,
                    Evaluation.status == EvaluationStatus.PROCESSING,
                    Evaluation.project_id.is_(None),
                )
            )
        )

    def add(self, evaluation: Evaluation) -> None:
        self.session.add(evaluation)
        self.session.flush()

    def delete(self, evaluation: Evaluation) -> None:
        self.session.execute(delete(EvaluationAnswer).where(EvaluationAnswer.evaluation_id == evaluation.id))
        self.session.delete(evaluation)
        self.session.flush()

    def update_fields(self, evaluation_id: str, **values: object) -> bool:
        """Set columns of an evaluation; return False when it no longer exists."""
        result = self.session.execute(update(Evaluation).where(Evaluation.id == evaluation_id).values(**values))
        return result.rowcount == 1

    def answers(self, evaluation_id: str, slot: int | None = None) -> list[EvaluationAnswer]:
        query = select(EvaluationAnswer).where(EvaluationAnswer.evaluation_id == evaluation_id)
        if slot is not None:
            query = query.where(EvaluationAnswer.slot == slot)
        return list(self.session.scalars(query.order_by(EvaluationAnswer.question_num, EvaluationAnswer.slot)))

    def add_answers(self, rows: list[EvaluationAnswer]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def delete_answers(self, evaluation_id: str, slot: int) -> None:
        self.session.execute(
            delete(EvaluationAnswer).where(
                EvaluationAnswer.evaluation_id == evaluation_id, EvaluationAnswer.slot == slot
            )
        )
