"""One dedicated LISTEN connection that reconnects by itself (STYLE §7: NOTIFY wakes; the poll
guarantees progress).

The gateway (``medium_events_v1``, and ``medium_narrative_delta_v1`` on the same connection)
and the worker (``medium_windows_v1``) each run one.

Contract of ``Listener.run()`` (it returns only by cancellation):

- Connect with ``store.connect`` (its own connection, never a pooled one), LISTEN on
  ``channel`` (and on every channel of ``more``, on the same connection), await
  ``prepare(conn)`` when given (the worker takes its claim-session lock there), then call
  ``on_connect``, the catch-up hook, after EVERY successful connect, the first one included:
  notifications sent while there was no connection are lost, so the hook replays or re-polls
  whatever they would have announced (an ephemeral channel, such as the narrative deltas, has
  nothing to replay).
- ``on_notify(payload)`` runs on the event loop for each notification on ``channel``, and
  ``more[c](payload)`` for each on ``c``; they must not block.
- The connection counts as lost when the server or the socket ends it (asyncpg's termination
  callback) or, with ``health_seconds``, when a ``SELECT 1`` sent after that many quiet seconds
  fails or takes longer than ``health_seconds``: a half-open TCP connection says nothing by
  itself. With ``health_seconds=None`` only the termination callback is trusted; the gateway
  does that, so ``LISTEN`` stays its connection's last statement in ``pg_stat_activity``.
- After a loss or a failed attempt, ``on_lost`` is called, then it waits ``backoff`` seconds
  (``min_backoff``, doubling up to ``max_backoff``; reset by a successful connect) and
  reconnects.
- Cancelling ``run()`` closes the connection (a second at most, then it is terminated).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from synthesis import store

log = logging.getLogger(__name__)

Hook = Callable[[], None]
OnNotify = Callable[[str], None]


class Listener:
    """A LISTEN connection on ``channel`` (and the channels of ``more``, each with its own
    handler) that reconnects with backoff (see the module doc).

    ``name`` prefixes the structured log actions (``<name>_listen``, ``<name>_listener_lost``,
    ``<name>_listen_failed``). ``connects`` counts successful connects and ``failures`` the
    connections lost or attempts failed; ``pid`` is the server pid while connected."""

    def __init__(self, dsn: str, channel: str, on_notify: OnNotify, *,
                 more: Mapping[str, OnNotify] | None = None, on_connect: Hook | None = None,
                 prepare: Callable[[Any], Awaitable[None]] | None = None,
                 on_lost: Hook | None = None, name: str = "listener",
                 application_name: str | None = None, health_seconds: float | None = 5.0,
                 min_backoff: float = 0.1, max_backoff: float = 5.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep):
        self.dsn = dsn
        self.channel = channel
        self.on_notify = on_notify
        self.handlers: dict[str, OnNotify] = {channel: on_notify, **(more or {})}
        self.on_connect = on_connect
        self.prepare = prepare
        self.on_lost = on_lost
        self.name = name
        self.application_name = application_name
        self.health_seconds = health_seconds
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.connected = asyncio.Event()
        self.pid: int | None = None
        self.connects = 0
        self.failures = 0

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after every loss."""
        backoff = self.min_backoff
        while True:
            conn: Any = None
            try:
                conn = await store.connect(self.dsn, application_name=self.application_name)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in self.handlers:
                    await conn.add_listener(channel, self._notified)
                if self.prepare is not None:
                    await self.prepare(conn)
                self.pid = conn.get_server_pid()
                self.connects += 1
                self.connected.set()
                backoff = self.min_backoff
                log.info(f"{self.name} listening", extra={
                    "action": f"{self.name}_listen", "channel": ",".join(self.handlers), "pid": self.pid})
                if self.on_connect is not None:
                    self.on_connect()
                await self._until_lost(conn, lost)
                log.warning(f"{self.name} listener lost", extra={
                    "action": f"{self.name}_listener_lost", "channel": self.channel})
            except Exception as exc:  # any failure: reconnect with backoff
                log.warning(f"{self.name} listener failed", extra={
                    "action": f"{self.name}_listen_failed", "channel": self.channel, "error": str(exc)})
            finally:
                self.connected.clear()
                self.pid = None
                if conn is not None:
                    await _close(conn)
            self.failures += 1
            if self.on_lost is not None:
                self.on_lost()
            await self.sleep(backoff)
            backoff = min(self.max_backoff, backoff * 2)

    async def healthy(self, conn: Any) -> bool:
        """The health check: the connection answers ``SELECT 1`` within ``health_seconds``."""
        try:
            await asyncio.wait_for(conn.execute("SELECT 1"), timeout=self.health_seconds)
        except Exception:  # any failure means reconnect
            return False
        return True

    async def _until_lost(self, conn: Any, lost: asyncio.Event) -> None:
        if self.health_seconds is None:
            await lost.wait()
            return
        while not lost.is_set() and not conn.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=self.health_seconds)
            if not lost.is_set() and not await self.healthy(conn):
                return

    def _notified(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self.handlers.get(channel, self.on_notify)(payload)


async def _close(conn: Any) -> None:
    if conn.is_closed():
        return
    try:
        await conn.close(timeout=1)
    except asyncio.CancelledError:
        conn.terminate()
        raise
    except Exception:  # closing is best effort; never leave it half open
        conn.terminate()
