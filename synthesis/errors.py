"""One base exception; subclasses carry their default message as the docstring.

Domain code raises these. The API maps them to status codes (`api/errors.py`); the CLI
prints them. Driver errors are translated in `store.py` and never escape it raw.
"""

from __future__ import annotations

from typing import Any


class MediumError(Exception):
    """Something went wrong in medium."""

    status_code = 500
    code = "internal"

    def __init__(self, message: str | None = None, *, field: str | None = None, **details: Any):
        self.message = message or (self.__doc__ or "").strip()
        self.field = field
        self.details = details
        super().__init__(self.message if field is None else f"{field}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out


class InvalidInput(MediumError):
    """The input is invalid."""

    status_code = 422
    code = "invalid_input"


class NotFound(MediumError):
    """Not found."""

    status_code = 404
    code = "not_found"


class Forbidden(MediumError):
    """You are not allowed to do that."""

    status_code = 403
    code = "forbidden"


class Unauthorized(MediumError):
    """Missing or invalid credentials."""

    status_code = 401
    code = "unauthorized"


class Conflict(MediumError):
    """The request conflicts with the current state."""

    status_code = 409
    code = "conflict"


class RateLimited(MediumError):
    """Too many requests."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class DatabaseUnavailable(MediumError):
    """The database is not reachable."""

    status_code = 503
    code = "database_unavailable"


class MigrationError(MediumError):
    """A migration could not be applied."""

    code = "migration_error"


class MissingExtra(MediumError):
    """An optional dependency is not installed; install the extra that provides it."""

    code = "missing_extra"


class ScenarioError(InvalidInput):
    """The scenario file is invalid."""

    code = "invalid_scenario"


class LLMError(MediumError):
    """The language model call failed."""

    status_code = 502
    code = "llm_error"


class LLMTransientError(LLMError):
    """The language model call failed in a way that may succeed on retry."""

    code = "llm_transient"


class LLMTimeout(LLMTransientError):
    """The language model call timed out."""

    code = "llm_timeout"


class ParseError(MediumError):
    """The model output does not follow the required format."""

    status_code = 502
    code = "parse_error"


class OutcomeRefused(ParseError):
    """The outcome puts what an onlooker could not observe into the shared layer, or
    contradicts a result already written."""

    code = "outcome_refused"

    def __init__(self, message: str | None = None, *, output: Any = None,
                 leaks: list[Any] | None = None, binds: dict[int, str] | None = None):
        super().__init__(message)
        self.output = output  # the parsed MediumOutput, for redaction when repair fails too
        self.leaks = leaks or []  # guard.Finding
        self.binds = binds or {}  # actions_resolved index -> the result it must have
