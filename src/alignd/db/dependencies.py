"""The request's session: one transaction per request, committed once at the end."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function" commits when the route function returns, before the response is sent, so a
# client never reads a state older than the answer it just got.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
