"""HTTP routes of alignment projects (served under /alignment-project and /alignment)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from alignd.alignments import service
from alignd.alignments.deletion import delete_project
from alignd.alignments.dependencies import OwnedProject
from alignd.alignments.schemas import (
    CreateProjectRequest,
    CreateProjectResponse,
    DatasetOut,
    DeleteProjectResponse,
    ProjectListOut,
    ProjectOut,
    ProjectStatusOut,
)
from alignd.auth.dependencies import CurrentUser
from alignd.db.dependencies import DbSession
from alignd.runtime import Runtime, get_runtime

router = APIRouter()
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@router.post("/create", response_model=CreateProjectResponse)
def create(body: CreateProjectRequest, user: CurrentUser, session: DbSession, runtime: RuntimeDep) -> CreateProjectResponse:
    project = service.create_project(session, runtime.settings, user, body)
    return CreateProjectResponse(id=project.id, alignment_id=project.id, status=project.status, model_id=project.model_id)


@router.get("/status/{project_id}", response_model=ProjectStatusOut)
def status(project: OwnedProject, user: CurrentUser) -> ProjectStatusOut:
    return ProjectStatusOut(
        status=project.status,
        progress=round(project.progress, 2),
        data=service.to_out(project, user.email),
        start_time=project.started_at,
        end_time=project.completed_at,
    )


@router.get("", response_model=ProjectListOut)
def list_projects(
    user: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100, description="Projects per page.")] = 20,
    offset: Annotated[int, Query(ge=0, description="Projects to skip, newest first.")] = 0,
) -> ProjectListOut:
    projects, total = service.list_projects(session, user, limit, offset)
    return ProjectListOut(
        alignment_projects=[service.to_out(project, user.email) for project in projects],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{project_id}/dataset", response_model=DatasetOut)
def dataset(
    project: OwnedProject,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Examples per page.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Examples to skip.")] = 0,
) -> DatasetOut:
    examples, total = service.read_project_dataset(runtime.settings, project, limit, offset)
    return DatasetOut(alignment_id=project.id, total=total, limit=limit, offset=offset, examples=examples)


@router.get("/{project_id}", response_model=ProjectOut)
def get(project: OwnedProject, user: CurrentUser) -> ProjectOut:
    return service.to_out(project, user.email)


@router.delete("/{project_id}", response_model=DeleteProjectResponse)
def delete(project_id: str, user: CurrentUser, runtime: RuntimeDep) -> DeleteProjectResponse:
    delete_project(runtime.settings, user, project_id)
    return DeleteProjectResponse(alignment_id=project_id, message="Alignment project successfully deleted")
