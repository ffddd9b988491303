"""HTTP routes of alignment projects."""

from fastapi import APIRouter

router = APIRouter()
