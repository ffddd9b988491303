"""Exceptions that carry their HTTP status and a stable machine-readable code."""

from typing import Any


class AlignError(Exception):
    """Base class: one handler turns it into ``{"detail": ..., "code": ...}``."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = headers

    def to_body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code}


class BadRequest(AlignError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AlignError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str = "Missing or invalid API key.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class NotFound(AlignError):
    status_code = 404
    code = "not_found"


class Conflict(AlignError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AlignError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(AlignError):
    status_code = 415
    code = "unsupported_media_type"


class Unprocessable(AlignError):
    status_code = 422
    code = "invalid_input"


class Overloaded(AlignError):
    status_code = 503
    code = "overloaded"

    def __init__(self, detail: str, retry_after_seconds: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})
