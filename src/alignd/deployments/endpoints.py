"""HTTP routes of this resource."""

from fastapi import APIRouter

router = APIRouter()
