"""What a WebSocket client sends: the token in its first message, and nothing that floods.

A browser can put a bearer token in a WebSocket only in the URL (``?token=``, as Supabase
Realtime takes it) or in a message. A URL ends up in proxies' logs, so a client may instead
connect without ``token`` and send, as its first message within ``AUTH_SECONDS``::

    {"type": "auth", "token": "<access token>"}

After that the server expects nothing from the client: a text message of up to
``MAX_MESSAGE_BYTES`` is ignored (a keep-alive), a binary message closes the socket with 1003,
a larger one with 1009, and more than ``FLOOD_BURST`` messages beyond ``FLOOD_RATE`` a second
with 4429 (reconnect later, with ``since``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi import WebSocket

from synthesis.errors import Unauthorized

log = logging.getLogger(__name__)

AUTH_SECONDS = 10.0
MAX_MESSAGE_BYTES = 4096
FLOOD_RATE, FLOOD_BURST = 5.0, 50
CLOSE_UNSUPPORTED, CLOSE_TOO_BIG, CLOSE_FLOOD = 1003, 1009, 4429


class Refused(Exception):
    """The client broke the protocol: close with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def _text(message: MutableMapping[str, Any]) -> str | None:
    """The text of a received ASGI message; None when the client went away."""
    if message["type"] == "websocket.disconnect":
        return None
    if message.get("bytes") is not None:
        raise Refused(CLOSE_UNSUPPORTED, "binary messages are not accepted")
    text = message.get("text") or ""
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise Refused(CLOSE_TOO_BIG, f"message too big (over {MAX_MESSAGE_BYTES} bytes)")
    return str(text)


def auth_token(text: str) -> str:
    """The token of a first message ``{"type": "auth", "token": …}``, else ``Unauthorized``."""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("type") != "auth":
        raise Unauthorized('the first message must be {"type": "auth", "token": …}', field="token")
    token = doc.get("token")
    if not isinstance(token, str) or not token:
        raise Unauthorized("the auth message has no token", field="token")
    return token


async def first_message_token(ws: WebSocket, *, seconds: float = AUTH_SECONDS) -> str | None:
    """The token of the client's first message (None: it went away). ``Unauthorized`` when it
    is not an auth message or does not come within ``seconds``; ``Refused`` for binary or
    oversize messages."""
    try:
        async with asyncio.timeout(seconds):
            message = await ws.receive()
    except TimeoutError:
        raise Unauthorized(f"no token: send {{\"type\": \"auth\", \"token\": …}} within {seconds:g} s "
                           "or connect with ?token=", field="token") from None
    text = _text(message)
    return None if text is None else auth_token(text)


class Flood:
    """A token bucket over the client's messages (``now``: a monotonic clock, injectable)."""

    def __init__(self, rate: float = FLOOD_RATE, burst: int = FLOOD_BURST,
                 now: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.now = rate, burst, now
        self.tokens, self.at = float(burst), now()

    def spend(self) -> bool:
        t = self.now()
        self.tokens = min(float(self.burst), self.tokens + (t - self.at) * self.rate)
        self.at = t
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def until_disconnect(ws: WebSocket, flood: Flood | None = None) -> None:
    """Read and drop what the client sends until it goes away; ``Refused`` when it breaks the
    rules above."""
    flood = flood or Flood()
    while True:
        if _text(await ws.receive()) is None:
            return
        if not flood.spend():
            raise Refused(CLOSE_FLOOD, "too many messages: the server expects none; reconnect with since")


async def drain(ws: WebSocket) -> None:
    """``until_disconnect``, closing a client that breaks the rules with their code."""
    try:
        await until_disconnect(ws)
    except Refused as exc:
        log.info("websocket closed: client broke the protocol", extra={
            "action": "ws_refused", "code": exc.code, "reason": exc.reason})
        with contextlib.suppress(Exception):
            await ws.close(exc.code, exc.reason)
