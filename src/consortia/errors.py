"""Errors the domains raise; each entry point turns them into its own shape (API error body, page)."""

from __future__ import annotations


class DomainError(Exception):
    """An error with an HTTP status, an error code (Alma's where one exists) and a message for people."""

    status = 400
    default_code = "402119"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class BadRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401
    default_code = "UNAUTHORIZED"


class Forbidden(DomainError):
    """Visible but not permitted: the message says why (P-8)."""

    status = 403
    default_code = "FORBIDDEN"


class NotFound(DomainError):
    """Unknown, or outside the caller's tenancy: the two are indistinguishable (P-8, R-3)."""

    status = 404
    default_code = "402119"


class Conflict(DomainError):
    """A conflicting change (a stale version, R-4) or a change that needs confirmation."""

    status = 409
    default_code = "CONFLICT"


class Throttled(DomainError):
    status = 429
    default_code = "PER_SECOND_THRESHOLD"


class Unavailable(DomainError):
    status = 503
    default_code = "SERVICE_UNAVAILABLE"
