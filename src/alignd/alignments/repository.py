"""Queries and compare-and-set updates on alignment projects.

Every state change that a concurrent request could race (deploy, undeploy, delete) is a
single conditional UPDATE whose row count says who won. That holds on SQLite, which
serialises writers, and on PostgreSQL, which re-checks the WHERE clause after the row lock.
"""

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ModelStatus, ModelTask, ProjectStatus


class ProjectRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, project: AlignmentProject) -> None:
        self.session.add(project)
        self.session.flush()

    def get_visible(self, project_id: str) -> AlignmentProject | None:
        return self.session.scalar(
            select(AlignmentProject).where(AlignmentProject.id == project_id, AlignmentProject.deleting.is_(False))
        )

    def get_for_user(self, user_id: str, project_id: str) -> AlignmentProject | None:
        return self.session.scalar(
            select(AlignmentProject).where(
                AlignmentProject.id == project_id,
                AlignmentProject.user_id == user_id,
                AlignmentProject.deleting.is_(False),
            )
        )

    def get_by_model_id(self, user_id: str, model_id: str) -> AlignmentProject | None:
        return self.session.scalar(
            select(AlignmentProject).where(
                AlignmentProject.model_id == model_id,
                AlignmentProject.user_id == user_id,
                AlignmentProject.deleting.is_(False),
            )
        )

    def list_for_user(self, user_id: str, limit: int, offset: int) -> tuple[list[AlignmentProject], int]:
        visible = (AlignmentProject.user_id == user_id, AlignmentProject.deleting.is_(False))
        total = self.session.scalar(select(func.count()).select_from(AlignmentProject).where(*visible)) or 0
        rows = self.session.scalars(
            select(AlignmentProject)
            .where(*visible)
            .order_by(AlignmentProject.created_at.desc(), AlignmentProject.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows), total

    def list_aligned_models(self, user_id: str) -> list[AlignmentProject]:
        return list(
            self.session.scalars(
                select(AlignmentProject)
                .where(
                    AlignmentProject.user_id == user_id,
                    AlignmentProject.deleting.is_(False),
                    AlignmentProject.status == ProjectStatus.READY,
                )
                .order_by(AlignmentProject.created_at.desc())
            )
        )

    def list_with_model_status(self, *statuses: str) -> list[AlignmentProject]:
        return list(
            self.session.scalars(
                select(AlignmentProject).where(
                    AlignmentProject.model_status.in_(statuses), AlignmentProject.deleting.is_(False)
                )
            )
        )

    def list_deleting(self) -> list[AlignmentProject]:
        return list(self.session.scalars(select(AlignmentProject).where(AlignmentProject.deleting.is_(True))))

    def update_fields(self, project_id: str, **values: Any) -> bool:
        """Update a visible project; False when it is gone or being deleted."""
        result = self.session.execute(
            update(AlignmentProject)
            .where(AlignmentProject.id == project_id, AlignmentProject.deleting.is_(False))
            .values(**values)
        )
        return result.rowcount == 1

    def begin_delete(self, project_id: str) -> bool:
        """Mark an undeployed project as deleting; False when the model is (un)deploying or deployed."""
        result = self.session.execute(
            update(AlignmentProject)
            .where(
                AlignmentProject.id == project_id,
                AlignmentProject.deleting.is_(False),
                AlignmentProject.model_status == ModelStatus.UNDEPLOYED,
            )
            .values(deleting=True)
        )
        return result.rowcount == 1

    def move_model_status(self, project_id: str, expected: str, new: str, **values: Any) -> bool:
        """Change the aligned model's status only if it is still ``expected``."""
        conditions = [
            AlignmentProject.id == project_id,
            AlignmentProject.deleting.is_(False),
            AlignmentProject.model_status == expected,
        ]
        if new == ModelStatus.DEPLOYING:
            conditions.append(AlignmentProject.status == ProjectStatus.READY)
        result = self.session.execute(
            update(AlignmentProject).where(*conditions).values(model_status=new, **values)
        )
        return result.rowcount == 1

    def delete_row(self, project_id: str) -> None:
        project = self.session.get(AlignmentProject, project_id)
        if project is not None:
            self.session.delete(project)
            self.session.flush()


class ModelTaskRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, task: ModelTask) -> None:
        self.session.add(task)
        self.session.flush()

    def get(self, task_id: str) -> ModelTask | None:
        return self.session.get(ModelTask, task_id)

    def latest(self, project_id: str, kind: str) -> ModelTask | None:
        return self.session.scalar(
            select(ModelTask)
            .where(ModelTask.project_id == project_id, ModelTask.kind == kind)
            .order_by(ModelTask.created_at.desc(), ModelTask.id.desc())
            .limit(1)
        )

    def delete_for_project(self, project_id: str) -> None:
        for task in self.session.scalars(select(ModelTask).where(ModelTask.project_id == project_id)):
            self.session.delete(task)
        self.session.flush()
