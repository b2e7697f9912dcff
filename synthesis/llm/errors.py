"""SDK failures → the project's `LLMError` family, for every adapter over a Stainless SDK.

The `openai` and `anthropic` SDKs share one exception shape: a timeout, a connection error, a
response that failed validation, and a status error carrying `status_code`, `message` and the
`response` (its `Retry-After` header). Each adapter describes its SDK once as an `SdkErrors`
and calls `translate`; this module imports no SDK, so importing it costs nothing at start-up.

* `LLMTimeout`: the SDK timed out.
* `LLMTransientError`: connection errors, 408/409/429 and any status >= 500 (the statuses the
  SDKs would retry themselves, Anthropic's 529 "overloaded" included), an error event inside a
  2xx stream (the reply broke off: Anthropic's mid-stream `overloaded_error`, OpenAI's
  `{"error": ...}` chunk), and a 2xx whose body is not a usable reply (`malformed`).
* `LLMError`: anything else (400, 401, 403, 404, 413, 422, a refusal, ...). Not worth retrying.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from synthesis.errors import LLMError, LLMTimeout, LLMTransientError

# The statuses the SDKs' own retry policies treat as retryable (besides every 5xx).
TRANSIENT_STATUSES = frozenset({408, 409, 429})


class _Response(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


class StatusError(Protocol):
    """What `translate` reads from an SDK's `APIStatusError`."""

    status_code: int
    message: str

    @property
    def response(self) -> _Response: ...


def _message(exc: StatusError) -> str:
    return exc.message


Classes = type[Exception] | tuple[type[Exception], ...]


def http_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(timeouts, request errors) of the HTTP library under an SDK (httpx2 under anthropic 2.16,
    httpx elsewhere): some SDK releases let them escape while a stream's body is read (seen on
    openai 1.108 and anthropic 2.x: a connection cut mid-stream raises httpx's own
    RemoteProtocolError). Imported lazily, so this module still imports no HTTP library."""
    timeouts: list[type[Exception]] = []
    failures: list[type[Exception]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        failures.append(module.RequestError)
    return tuple(timeouts), tuple(failures)


@dataclass(frozen=True)
class SdkErrors:
    """One SDK's exception classes, the text of its status errors, and the logger its adapter
    reports failures on (so log records keep naming the adapter). `timeout` and `connection`
    may include the HTTP library's own errors, for an SDK that lets them escape while a stream
    is read; `stream` is what the SDK raises for an error event inside a stream (checked after
    the others, so it may be their base class)."""

    timeout: Classes
    connection: Classes
    validation: Classes
    status: Classes
    logger: logging.Logger
    status_detail: Callable[[StatusError], str] = _message
    stream: Classes = ()


def translate(exc: Exception, sdk: SdkErrors, *, provider: str, model: str) -> LLMError:
    """Map an SDK exception to our error family (see the module docstring) and log it."""
    status: int | None = getattr(exc, "status_code", None)
    error: LLMError
    if isinstance(exc, sdk.timeout):
        error = LLMTimeout(f"{provider} request timed out", provider=provider)
    elif isinstance(exc, sdk.connection):
        error = LLMTransientError(f"cannot reach {provider}: {getattr(exc, 'message', exc)}", provider=provider)
    elif isinstance(exc, sdk.validation):
        error = LLMTransientError(f"{provider} returned a malformed response", provider=provider, status=status)
    elif isinstance(exc, sdk.status):
        failed = cast(StatusError, exc)
        message = f"{provider} returned HTTP {failed.status_code}: {sdk.status_detail(failed)}"
        if failed.status_code < 400:  # an error event inside a 2xx stream
            error = LLMTransientError(f"{provider} stream failed: {sdk.status_detail(failed)}",
                                      provider=provider, status=failed.status_code)
        elif failed.status_code in TRANSIENT_STATUSES or failed.status_code >= 500:
            retry_after = parse_retry_after(failed.response.headers.get("retry-after"))
            details: dict[str, Any] = {"provider": provider, "status": failed.status_code}
            if retry_after is not None:
                details["retry_after"] = retry_after
            error = LLMTransientError(message, **details)
        else:
            error = LLMError(message, provider=provider, status=failed.status_code)
    elif isinstance(exc, sdk.stream):
        error = LLMTransientError(f"{provider} stream failed: {getattr(exc, 'message', exc)}", provider=provider)
    else:
        error = LLMError(f"{provider} call failed: {exc}", provider=provider)
    sdk.logger.warning(
        "LLM call failed",
        extra={
            "action": "llm_complete",
            "provider": provider,
            "model": model,
            "status": status,
            "error": type(error).__name__,
            "sdk_error": type(exc).__name__,
        },
    )
    return error


def malformed(logger: logging.Logger, provider: str, model: str, why: str) -> LLMTransientError:
    """A 2xx whose body is not a usable reply: transient (a retry may get a good one)."""
    logger.warning(
        "malformed LLM response",
        extra={"action": "llm_complete", "provider": provider, "model": model, "reason": why},
    )
    return LLMTransientError(f"{provider} returned a malformed response: {why}", provider=provider)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header; HTTP-date values are ignored (None)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
