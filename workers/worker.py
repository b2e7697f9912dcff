"""The Medium worker: durable per-character timers that fire within milliseconds.

Shape (STYLE §6): ``run()`` and an idempotent ``stop()``; named side tasks (listener,
heartbeat) with a monitor that stops the worker if one dies; a graceful shutdown window, then
abort; ``burst=True`` drains what is due and exits.

Wake-up (STYLE §7): the loop sleeps until the earliest due moment it knows of. A NOTIFY on
``medium_windows_v1`` (a commit, an interrupt, a release) wakes it early; a poll fallback
guarantees progress when a notification is lost. Each pass reads ``clock.now()`` once and
passes it to the claim SQL.

Claims are at-least-once under a lease that a heartbeat extends while the LLM runs; the
result is written by an idempotent route, so the effect is exactly once (DESIGN §5.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from synthesis import medium, store, telemetry, timing
from synthesis.clock import Clock, SystemClock
from synthesis.errors import DatabaseUnavailable, MediumError
from synthesis.listener import Listener
from synthesis.llm.registry import Registry
from synthesis.types import Window

log = logging.getLogger(__name__)
CHANNEL = "medium_windows_v1"
SAMPLE_WINDOW = 10_000

Handler = Callable[[Window], Awaitable[Any]]


@dataclass
class WorkerStats:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    # Recent samples only: a worker runs for days, and these feed logs and tests, not billing.
    lateness_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLE_WINDOW))
    synthesis_ms: deque[float] = field(default_factory=lambda: deque(maxlen=SAMPLE_WINDOW))
    notifications: int = 0
    polls: int = 0
    listener_reconnects: int = 0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """Claims due windows and runs their Mediums concurrently (bounded by ``concurrency``)."""

    def __init__(
        self, st: store.Store, registry: Registry | None, *, dsn: str,
        clock: Clock | None = None, worker_id: str | None = None, concurrency: int = 16,
        claim_batch: int | None = None, lease_seconds: float = 30.0, poll_interval: float = 1.0,
        burst: bool = False, grace_seconds: float = 10.0, time_scale: float = 1.0,
        max_attempts: int = 4, retry_base: float = 1.0, handler: Handler | None = None,
        listen: bool = True, parallel_claims: int = 2, live: bool = True,
    ):
        self.st = st
        self.registry = registry
        self.dsn = dsn
        self.clock = clock or SystemClock()
        self.worker_id = worker_id or default_worker_id()
        # The claim-session lock held on the LISTEN connection (None while it is down): claims
        # made under it are reclaimed by others the moment this process's session ends.
        self.session: int | None = None
        self._session_ready = asyncio.Event()
        self.concurrency = concurrency
        self.claim_batch = claim_batch or concurrency
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.burst = burst
        self.grace_seconds = grace_seconds
        self.time_scale = time_scale
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.handler: Handler = handler or self.synthesize
        self.listen = listen
        self.parallel_claims = parallel_claims
        self.live = live  # stream each narrative to its owner and the GM while it is written
        self.stats = WorkerStats()
        self.in_flight: dict[Any, tuple[Window, asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._known_due: float | None = None
        self._side: dict[str, asyncio.Task[None]] = {}
        self.extra_tasks: dict[str, Callable[[], Awaitable[None]]] = {}

    # --- lifecycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; in-flight work gets ``grace_seconds`` to finish. Idempotent."""
        if not self._stopping.is_set():
            log.info("worker stopping", extra={"action": "stop", "worker_id": self.worker_id})
            self._stopping.set()
            self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wake(self, due_ts: float | None = None) -> None:
        """Something may be due at ``due_ts`` (epoch seconds; None = now)."""
        if due_ts is not None and self._known_due is not None and due_ts >= self._known_due:
            return
        self._known_due = due_ts
        self._wake.set()

    async def run(self) -> None:
        """Serve until ``stop()`` (or, with ``burst``, until nothing is due). Returns after a
        graceful shutdown; raises if a side task died."""
        if self.listen:
            self._side["listener"] = asyncio.create_task(self._listener(), name="listener")
        self._side["heartbeat"] = asyncio.create_task(self._heartbeat(), name="heartbeat")
        for name, fn in self.extra_tasks.items():
            self._side[name] = asyncio.create_task(fn(), name=name)  # type: ignore[arg-type]
        main = asyncio.create_task(self._loop(), name="loop")
        monitor = asyncio.create_task(self._monitor(), name="monitor")
        try:
            await main
        finally:
            monitor.cancel()
            await self._drain()
            for t in self._side.values():
                t.cancel()
            for t in self._side.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        died = [n for n, t in self._side.items() if t.done() and not t.cancelled() and t.exception()]
        if died:
            raise MediumError(f"worker side task died: {', '.join(died)}")

    async def _monitor(self) -> None:
        """Stop the worker when a named side task dies."""
        while True:
            await asyncio.sleep(0.5)
            for name, t in self._side.items():
                if t.done() and not t.cancelled() and t.exception() is not None:
                    log.error("side task died", extra={"action": "side_task_died", "task": name,
                                                       "error": repr(t.exception())})
                    self.stop()
                    return

    # --- the loop --------------------------------------------------------------------------

    async def _loop(self) -> None:
        if self.listen:  # claim under a session from the first pass (bounded: the lease still holds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._session_ready.wait(), timeout=5.0)
        failures = 0
        while not self.stopping:
            self._wake.clear()
            self._known_due = None
            try:
                claimed = await self._claim_pass()
                next_due = None if claimed else await self.st.next_due()
                failures = 0
            except Exception as exc:  # one bad pass must not end the worker
                failures += 1
                delay = min(5.0, 0.1 * 2 ** failures)
                known = isinstance(exc, MediumError)  # unavailable, or a translated database error
                log.log(logging.WARNING if known else logging.ERROR, "claim pass failed",
                        exc_info=not known, extra={"action": "claim_failed", "retry_in": delay,
                                                   "error": str(exc), "kind": type(exc).__name__})
                await self._backoff(delay)
                continue
            if claimed:
                continue  # there may be more due right now
            if self.burst:
                now_ts = self.clock.now().timestamp()
                due_soon = next_due is not None and next_due.timestamp() <= now_ts
                if not self.in_flight and not due_soon:
                    return
            free = len(self.in_flight) < self.concurrency
            now_ts = self.clock.now().timestamp()
            if not free:
                delay = self.poll_interval
            else:
                delay = timing.sleep_for(now_ts, next_due.timestamp() if next_due else None,
                                         poll_interval=self.poll_interval)
            if delay > 0:
                woke = await self._sleep(delay)
                if not woke and delay >= self.poll_interval:
                    self.stats.polls += 1

    async def _backoff(self, seconds: float) -> None:
        """A real-time pause after a failed pass (the database is away): not a game timer, so
        it does not run on the injected clock. ``stop()`` ends it early."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _sleep(self, seconds: float) -> bool:
        """``clock.sleep(seconds)`` raced against a wake-up (NOTIFY, a free slot, stop); True
        when woken early. Time is the injected clock's, so tests drive it with a FakeClock."""
        if self._wake.is_set():
            return True
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (sleeper, waker):
                t.cancel()
        return waker in done

    async def _claim_pass(self) -> int:
        """One claim pass at one ``now``. With room for several batches, claims run on
        several connections at once (SKIP LOCKED hands each a disjoint set), which is what
        drains a burst of thousands of due windows quickly."""
        free = self.concurrency - len(self.in_flight)
        if free <= 0:
            return 0
        now = self.clock.now()
        k = max(1, min(self.parallel_claims, free // self.claim_batch))
        batches = await asyncio.gather(*(
            self.st.claim_due_windows(now, limit=min(free, self.claim_batch),
                                      worker_id=self.worker_id, lease_seconds=self.lease_seconds,
                                      session=self.session)
            for _ in range(k)))
        windows = [w for batch in batches for w in batch]
        begin = self.clock.now()
        for w in windows:
            if w.id in self.in_flight:  # reclaimed from this worker's own ended session: running
                continue
            self.stats.claimed += 1
            late = (begin - w.due_at).total_seconds()
            self.stats.lateness_ms.append(late * 1000)
            telemetry.TIMER_LATENESS.observe(max(0.0, late))
            task = asyncio.create_task(self._process(w), name=f"window:{w.id}")
            self.in_flight[w.id] = (w, task)
        return len(windows)

    # --- one window ------------------------------------------------------------------------

    async def synthesize(self, w: Window) -> Any:
        if self.registry is None:
            raise RuntimeError("a worker without a handler needs an LLM registry")
        result = await medium.synthesize(self.st, self.registry, w.frame_id, w.id,
                                         clock=self.clock, time_scale=self.time_scale, live=self.live)
        if result.route.get("interrupted") or result.route.get("perceive"):
            self.wake()  # an interrupt window is due now: start it within this tick
        return result

    async def _process(self, w: Window) -> None:
        t0 = time.perf_counter()
        try:
            if w.attempts > self.max_attempts:
                await self.st.fail_window(w.frame_id, w.id, "gave up after repeated lease "
                                          f"expiries ({w.attempts - 1} attempts)", self.clock.now())
                self.stats.failed += 1
                return
            for db_try in range(6):
                try:
                    await self.handler(w)
                    break
                except DatabaseUnavailable:
                    if db_try == 5:
                        raise
                    await asyncio.sleep(min(5.0, 0.2 * 2 ** db_try))
            self.stats.done += 1
            took = time.perf_counter() - t0
            self.stats.synthesis_ms.append(took * 1000)
            telemetry.SYNTHESIS.labels("done").observe(took)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure is recorded on the window
            telemetry.SYNTHESIS.labels("failed").observe(time.perf_counter() - t0)
            await self._failed_attempt(w, exc)
        finally:
            self.in_flight.pop(w.id, None)
            self._wake.set()  # a slot is free

    async def _failed_attempt(self, w: Window, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        now = self.clock.now()
        try:
            if w.attempts >= self.max_attempts:
                await self.st.fail_window(w.frame_id, w.id, reason, now)
                self.stats.failed += 1
                log.warning("window failed", extra={
                    "action": "window_failed", "frame_id": str(w.frame_id), "window_id": str(w.id),
                    "character_id": str(w.character_id), "attempts": w.attempts, "error": reason})
            else:
                delay = timing.retry_backoff(w.attempts, base=self.retry_base)
                await self.st.reschedule_window(w.id, self.worker_id, now + timedelta(seconds=delay),
                                                reason)
                self.stats.retried += 1
                log.info("window retry", extra={
                    "action": "window_retry", "window_id": str(w.id), "attempts": w.attempts,
                    "retry_in": delay, "error": reason})
        except MediumError as db_exc:
            # The lease will expire and another pass will reclaim it: nothing is lost.
            log.warning("could not record failure", extra={"action": "record_failure_failed",
                                                           "window_id": str(w.id), "error": str(db_exc)})

    # --- side tasks ------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        """Extend the leases of in-flight windows every lease/3 seconds."""
        while True:
            await self.clock.sleep(self.lease_seconds / 3)
            ids = list(self.in_flight)
            if not ids:
                continue
            try:
                kept = await self.st.heartbeat(ids, self.clock.now(), self.lease_seconds, self.worker_id,
                                               session=self.session)
            except Exception as exc:  # the next beat retries; leases are long enough
                log.warning("heartbeat failed", extra={"action": "heartbeat_failed", "error": str(exc)})
                continue
            lost = set(ids) - set(kept) - {i for i in ids if i not in self.in_flight}
            if lost:
                log.warning("leases lost", extra={"action": "lease_lost", "count": len(lost)})

    async def _listener(self) -> None:
        """One dedicated LISTEN connection (``synthesis.listener``) that reconnects by itself;
        every (re)connect wakes the loop, so anything missed meanwhile is claimed."""
        await Listener(self.dsn, CHANNEL, self._on_notify, on_connect=self.wake, prepare=self._hold_session,
                       on_lost=self._listener_lost, name="worker").run()

    async def _hold_session(self, conn: Any) -> None:
        """Take a free claim-session lock on the LISTEN connection (a random key; another
        worker holding the same one is vanishingly rare, and then the next key is tried)."""
        for _ in range(8):
            key = secrets.randbelow(2**31)
            if await store.try_claim_session(conn, key):
                self.session = key
                kept: list[Any] = []
                if ids := list(self.in_flight):  # claims of the session that ended become this one's
                    kept = await self.st.heartbeat(ids, self.clock.now(), self.lease_seconds, self.worker_id,
                                                   session=key)
                self._session_ready.set()
                log.info("claim session held", extra={"action": "claim_session", "worker_id": self.worker_id,
                                                      "session": key, "restamped": len(kept)})
                return
        log.warning("no claim session", extra={"action": "claim_session_failed", "worker_id": self.worker_id})

    def _listener_lost(self) -> None:
        self.session = None  # its lock went with the connection: claims fall back on the lease
        self.stats.listener_reconnects += 1

    def _on_notify(self, payload: str) -> None:
        self.stats.notifications += 1
        try:
            due = float(json.loads(payload).get("due"))
        except (ValueError, TypeError, AttributeError):
            due = None
        self.wake(due)

    # --- shutdown --------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Let in-flight work finish within the grace period; release the rest."""
        if not self.in_flight:
            return
        tasks = [t for _, t in self.in_flight.values()]
        _, pending = await asyncio.wait(tasks, timeout=self.grace_seconds)
        if not pending:
            return
        ids = [w.id for w, t in list(self.in_flight.values()) if t in pending]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        try:
            released = await self.st.release_windows(ids, self.worker_id, self.clock.now())
            self.stats.released += len(released)
            log.info("released windows", extra={"action": "release", "count": len(released)})
        except MediumError as exc:
            log.warning("release failed; leases will expire", extra={"action": "release_failed",
                                                                     "error": str(exc)})
