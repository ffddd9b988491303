"""HTTP routes of aligned models: list, settings, deploy and undeploy."""

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ModelStatus, ModelTask
from alignd.auth.dependencies import CurrentUser
from alignd.db.dependencies import DbSession
from alignd.deployments import service
from alignd.evaluations.service import evaluation_data_for_project
from alignd.deployments.schemas import AlignedModelListOut, AlignedModelOut, AlignedModelUpdate, ModelTaskStatusOut
from alignd.alignments.repository import ProjectRepository
from alignd.runtime import Runtime, get_runtime

router = APIRouter()
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _aligned_out(session: Session, project: AlignmentProject, creator: str) -> AlignedModelOut:
    deployed = project.model_status == ModelStatus.DEPLOYED
    return AlignedModelOut(
        id=project.model_id,
        alignment_id=project.id,
        name=project.name,
        base_model=project.base_model,
        alignment_project=project.id,
        created_date=project.completed_at or project.created_at,
        status=project.model_status,
        deployment_status="DEPLOYED" if deployed else "UNDEPLOYED",
        endpoint=service.endpoint_url(project.model_id) if deployed else None,
        creator=creator,
        usage_count=project.usage_count,
        last_used=project.last_used,
        performance_metrics=project.performance_metrics or {},
        downloadable=False,
        evaluation_data=evaluation_data_for_project(session, project),
        conversation_saving_enabled=project.conversation_saving_enabled,
    )


def _task_out(task: ModelTask) -> ModelTaskStatusOut:
    if task.status == "FAILED":
        result = {"error": task.error}
    elif task.status == "COMPLETED":
        result = {"deployment_id": task.id, "endpoint_url": task.endpoint_url}
    else:
        result = None
    return ModelTaskStatusOut(
        model_id=task.model_id, status=task.status, result=result, start_time=task.start_time, end_time=task.end_time
    )


@router.get("/aligned", response_model=AlignedModelListOut)
def list_aligned(user: CurrentUser, session: DbSession) -> AlignedModelListOut:
    projects = ProjectRepository(session).list_aligned_models(user.id)
    return AlignedModelListOut(domain_aligned_models=[_aligned_out(session, p, user.email) for p in projects])


@router.get("/aligned/{model_id}", response_model=AlignedModelOut)
def get_aligned(model_id: str, user: CurrentUser, session: DbSession) -> AlignedModelOut:
    return _aligned_out(session, service.get_aligned_model(session, user, model_id), user.email)


@router.patch("/aligned/{model_id}", response_model=AlignedModelOut)
def update_aligned(model_id: str, body: AlignedModelUpdate, user: CurrentUser, session: DbSession) -> AlignedModelOut:
    project = service.get_aligned_model(session, user, model_id)
    project.conversation_saving_enabled = body.conversation_saving_enabled
    session.flush()
    return _aligned_out(session, project, user.email)


@router.post("/deploy-model/{model_id}", response_model=str)
def deploy(model_id: str, user: CurrentUser, runtime: RuntimeDep) -> str:
    service.deploy(runtime, user, model_id)
    return model_id


@router.get("/deploy-model/{model_id}/status", response_model=ModelTaskStatusOut)
def deploy_status(model_id: str, user: CurrentUser, session: DbSession) -> ModelTaskStatusOut:
    return _task_out(service.task_status(session, user, model_id, service.DEPLOY))


@router.delete("/undeploy-model/{model_id}", response_model=str)
def undeploy(model_id: str, user: CurrentUser, runtime: RuntimeDep) -> str:
    service.undeploy(runtime, user, model_id)
    return model_id


@router.get("/undeploy-model/{model_id}/status", response_model=ModelTaskStatusOut)
def undeploy_status(model_id: str, user: CurrentUser, session: DbSession) -> ModelTaskStatusOut:
    return _task_out(service.task_status(session, user, model_id, service.UNDEPLOY))
