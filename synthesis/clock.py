"""Time as a parameter (STYLE §4). Workers read ``clock.now()`` once per pass."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time (UTC, timezone-aware)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told, so tests of timer logic never wait.

    ``autojump=True`` (the default): ``sleep`` advances time at once. ``autojump=False``: a
    sleeper waits until ``advance``/``set`` moves time past its deadline, so a test drives
    several sleeping tasks (a worker's loop and its heartbeat) step by step."""

    def __init__(self, start: datetime | None = None, *, autojump: bool = True):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.autojump = autojump
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        self._wake()
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
        self._wake()

    @property
    def sleepers(self) -> int:
        """Tasks waiting on this clock (``autojump=False``)."""
        return sum(1 for _, f in self._sleepers if not f.done())

    def _wake(self) -> None:
        for deadline, fut in self._sleepers:
            if deadline <= self._now and not fut.done():
                fut.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]

    async def sleep(self, seconds: float) -> None:
        if self.autojump:
            self.advance(max(0.0, seconds))
            await asyncio.sleep(0)
            return
        deadline = self._now + timedelta(seconds=max(0.0, seconds))
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((deadline, fut))
        await fut
