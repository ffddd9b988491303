"""HTTP routes of evaluations (served under /evaluations)."""

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from alignd.auth.dependencies import CurrentUser
from alignd.db.dependencies import DbSession
from alignd.evaluations import service
from alignd.evaluations.dependencies import OwnedEvaluation
from alignd.evaluations.models import EvaluationStatus
from alignd.evaluations.schemas import (
    CreateEvaluationRequest,
    EvaluationCreated,
    EvaluationDeleted,
    EvaluationList,
    EvaluationResults,
    EvaluationStatusOut,
)
from alignd.runtime import Runtime, get_runtime

router = APIRouter()
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@router.post("", response_model=EvaluationCreated)
def create(
    body: CreateEvaluationRequest, user: CurrentUser, session: DbSession, runtime: RuntimeDep
) -> EvaluationCreated:
    evaluation = service.create(session, runtime.settings, user, body)
    return EvaluationCreated(
        evaluation_id=evaluation.id,
        model_id=evaluation.model_id,
        model_id_2=evaluation.model_id_2,
        status=evaluation.status,
        benchmark_id=evaluation.benchmark_id,
        created_at=evaluation.created_at,
        message="Evaluation started; poll its status until it is READY.",
    )


@router.get("", response_model=EvaluationList)
def list_evaluations(
    user: CurrentUser,
    session: DbSession,
    status: Annotated[EvaluationStatus | None, Query(description="Only evaluations with this status.")] = None,
    model_id: Annotated[str | None, Query(description="Only evaluations of this model, in either slot.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Evaluations per page.")] = 20,
    offset: Annotated[int, Query(ge=0, description="Evaluations to skip, newest first.")] = 0,
) -> EvaluationList:
    evaluations, total = service.list_for_user(
        session, user, status=status, model_id=model_id, limit=limit, offset=offset
    )
    return EvaluationList(
        evaluations=[service.to_out(evaluation) for evaluation in evaluations], total=total, limit=limit, offset=offset
    )


@router.get("/{evaluation_id}/status", response_model=EvaluationStatusOut)
def status(evaluation: OwnedEvaluation) -> EvaluationStatusOut:
    return service.status_of(evaluation)


@router.get("/{evaluation_id}/results", response_model=EvaluationResults)
def results(evaluation: OwnedEvaluation) -> EvaluationResults:
    return service.results_of(evaluation)


@router.get("/{evaluation_id}/download")
def download(evaluation: OwnedEvaluation, session: DbSession) -> Response:
    report = service.download_of(session, evaluation)
    return Response(
        content=json.dumps(report, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{evaluation.id}.json"'},
    )


@router.delete("/{evaluation_id}", response_model=EvaluationDeleted)
def delete(evaluation_id: str, user: CurrentUser, session: DbSession, runtime: RuntimeDep) -> EvaluationDeleted:
    service.delete(session, runtime.settings, user, evaluation_id)
    return EvaluationDeleted(id=evaluation_id, message="Evaluation successfully deleted")
