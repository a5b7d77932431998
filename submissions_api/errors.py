"""The service layer's errors: what went wrong, in the caller's terms, with no HTTP in sight.

    ServiceError            base; `status` is the HTTP status main.py answers with
     ├── NotFound           404  no such assignment, submission, user, ... ("no such {what}")
     ├── Forbidden          403  the caller's role or ownership does not allow it
     ├── Conflict           409  the current state does not allow it (user exists, canary failed)
     └── Refused            a rule refuses the request; the status says which kind:
                            413 too large, 422 not acceptable, 403 closed, 429 wait (retry_after)

Services raise these; `main.py` maps them to JSON once and the pages render them as pages.
Authentication (401) stays in `deps.py`: it happens before any service is called.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service will not carry out; `str(exc)` is the message for the caller."""

    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def headers(self) -> dict[str, str] | None:
        """Extra HTTP headers of the answer (Retry-After), or None."""
        return None


class NotFound(ServiceError):
    status = 404

    def __init__(self, what: str) -> None:
        super().__init__(f"no such {what}")


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Refused(ServiceError):
    """Refused by a rule (size, content, deadline, limit, cooldown). `status` defaults to 422;
    `retry_after` (seconds) tells a client when trying again can succeed."""

    def __init__(self, message: str, *, status: int = 422, retry_after: int | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else None
