"""One JSON error shape for every failure: ``{"error": {"code", "message", "field"}}``.

Domain code raises ``synthesis.errors.MediumError`` subclasses (never ``HTTPException``); this
module maps them to status codes. Validation errors name the dotted location of the bad input
(``body.content``, ``query.limit``, ``path.frame_id``); malformed JSON names ``body``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from synthesis import errors

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "request_too_large",
               415: "unsupported_media_type", 422: "invalid_input", 429: "rate_limited"}


class RequestTooLarge(errors.MediumError):
    """The request body is too large."""

    status_code = 413
    code = "request_too_large"


def error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(exc: errors.MediumError) -> JSONResponse:
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, errors.Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status_code,
                        headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def medium_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, errors.MediumError):  # registered for this type only
        raise exc
    if exc.status_code >= 500:
        log.error("request failed", extra={"action": "request_failed", "path": request.url.path,
                                           "code": exc.code, "error": exc.message})
    return error_response(exc)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for this type only
        raise exc
    problems = list(exc.errors())
    if not problems:
        return JSONResponse(error_body("invalid_input", "invalid request", None), status_code=422)
    fields: list[str] = []
    for e in problems:
        loc = tuple(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            loc = loc[:1] or ("body",)
        fields.append(_loc(loc))
    messages = [f"{f}: {e.get('msg', 'invalid')!s}" for f, e in zip(fields, problems, strict=True)]
    if problems[0].get("type") == "json_invalid":
        messages[0] = f"body: malformed JSON ({problems[0].get('ctx', {}).get('error', 'invalid')})"
    return JSONResponse(error_body("invalid_input", "; ".join(messages), fields[0]), status_code=422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for this type only
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "error")
    field = "path" if exc.status_code in (404, 405) else None
    message = str(exc.detail)
    if exc.status_code == 400:  # Starlette could not decode the body (bad UTF-8, nesting too deep)
        field, message = "body", "body: not a JSON document this server can read (invalid UTF-8 or nested too deeply)"
    return JSONResponse(error_body(code, message, field), status_code=exc.status_code,
                        headers=dict(exc.headers or {}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.MediumError, medium_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
