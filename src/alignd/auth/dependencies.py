"""FastAPI dependencies that resolve the caller from the bearer token."""

from typing import Annotated

from fastapi import Depends, Request

from alignd.auth.models import User
from alignd.auth.service import authenticate
from alignd.db.dependencies import DbSession
from alignd.errors import Unauthorized


def current_user(request: Request, session: DbSession) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return authenticate(session, token.strip())


CurrentUser = Annotated[User, Depends(current_user)]
