"""Pure ASGI middleware (no response buffering) and the per-user submission rate limit."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from synthesis.errors import RateLimited

if TYPE_CHECKING:
    from synthesis.store_api import ApiStore

MAX_BODY_BYTES = 64 * 1024


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, and a non-empty body that is not
    declared JSON with 415 (except on the ``larger`` upload routes), before any handler runs.
    The body (at most ``limit`` bytes) is read up front and replayed to the app."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES,
                 larger: tuple[tuple[str, int], ...] = ()):
        self.app = app
        self.limit = limit
        self.larger = larger  # (path suffix, limit): uploads such as a PNG character card

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        upload = next((n for suffix, n in self.larger if scope.get("path", "").endswith(suffix)), None)
        limit = upload if upload is not None else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        ctype = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
        # an upload route (a PNG character card) checks its own content types
        if body["body"] and upload is None and not (ctype == b"application/json" or ctype.endswith(b"+json")):
            given = ctype.decode(errors="replace") or "none"
            await self._refuse(send, 415, "unsupported_media_type",
                               f"Content-Type must be application/json, got {given!r}", "content-type")
            return
        await self.app(scope, _replay([body], receive), send)

    async def _too_large(self, send: Send, limit: int) -> None:
        await self._refuse(send, 413, "request_too_large", f"request body is larger than {limit} bytes", "body")

    async def _refuse(self, send: Send, status: int, code: str, message: str, field: str) -> None:
        payload = json.dumps(error_body(code, message, field)).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class Timing:
    """Request latency per route template, reported to ``observe(method, route, status, s)``."""

    def __init__(self, app: ASGIApp, *, observe: Callable[[str, str, int, float], None]):
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        t0 = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.observe(scope["method"], route, status, time.perf_counter() - t0)


@dataclass(frozen=True)
class Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` banked (the decision; the
    state lives in Postgres, see ``RateLimiter``)."""

    rate: float
    burst: int

    def spend(self, tokens: float, elapsed: float) -> tuple[float, float]:
        """Spend one token from a bucket that held ``tokens`` ``elapsed`` seconds ago:
        ``(tokens left, 0.0)``, or, refused, ``(tokens now, seconds until one is there)``."""
        now = min(float(self.burst), tokens + max(0.0, elapsed) * self.rate)
        if now < 1.0:
            return now, (1.0 - now) / self.rate
        return now - 1.0, 0.0


class RateLimiter:
    """The per-user limit, shared by every API replica: each user's bucket is a row of
    ``rate_buckets``, locked for the decision, so N replicas allow the limit once, not N times
    (one short transaction per submission)."""

    def __init__(self, rate: float, burst: int):
        self.bucket = Bucket(rate, burst)

    async def take(self, st: ApiStore, user_id: UUID, *, what: str = "liquid submissions") -> None:
        """Spend one token or raise ``RateLimited`` with the seconds until one is available."""
        wait = await st.rate_take(user_id, float(self.bucket.burst), self.bucket.spend)
        if wait > 0:
            b = self.bucket
            raise RateLimited(
                f"user {user_id} made too many {what}: at most {b.rate:g}/s with bursts of {b.burst}; "
                f"retry after {math.ceil(wait * 1000)} ms", retry_after=wait, field="user_id")
