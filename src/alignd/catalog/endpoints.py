"""HTTP routes of the base model catalog."""

from dataclasses import asdict

from fastapi import APIRouter, Request

from alignd.auth.dependencies import CurrentUser
from alignd.catalog import service
from alignd.catalog.schemas import BaseModelListOut, BaseModelOut
from alignd.runtime import get_runtime

router = APIRouter()


@router.get("", response_model=BaseModelListOut, summary="List base models, including those that cannot be aligned")
def list_base_models(request: Request, _user: CurrentUser) -> BaseModelListOut:
    infos = service.list_base_models(get_runtime(request).settings)
    return BaseModelListOut(models=[BaseModelOut(**asdict(info)) for info in infos])
