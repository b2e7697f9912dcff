"""CPU time per stage of a synthesis, for ``medium bench throughput``: claim, gather, compile,
narrator, parse, route (the pure plan) and apply (the SQL write with its NOTIFY).

Off unless a benchmark installs a ``Stages`` (``measuring()``): then each ``stage(name)`` costs
one ``ContextVar.get`` and two ``time.thread_time()`` reads. Stages nest and are exclusive: the
CPU of an inner stage is not counted again in the outer one. The thread's CPU is only a stage's
own when nothing else runs on the event loop meanwhile, so the benchmark measures stages on a
serial run (one synthesis at a time, no worker loop beside it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

ORDER = ("claim", "gather", "compile", "narrator", "parse", "route", "apply")
_CURRENT: ContextVar[Stages | None] = ContextVar("medium_stages", default=None)


@dataclass
class Stages:
    """Seconds of thread CPU per stage name, and how often each ran."""

    cpu: dict[str, float] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)
    clock: Callable[[], float] = time.thread_time
    _stack: list[str] = field(default_factory=list)
    _mark: float = 0.0

    def _charge(self, now: float) -> None:
        if self._stack:
            top = self._stack[-1]
            self.cpu[top] = self.cpu.get(top, 0.0) + (now - self._mark)
        self._mark = now

    def enter(self, name: str) -> None:
        self._charge(self.clock())
        self._stack.append(name)
        self.count[name] = self.count.get(name, 0) + 1

    def leave(self) -> None:
        self._charge(self.clock())
        self._stack.pop()

    def per_call_ms(self, calls: int) -> dict[str, float]:
        """Milliseconds of CPU per synthesis (``calls`` of them) by stage, in pipeline order."""
        names = [*ORDER, *sorted(set(self.cpu) - set(ORDER))]
        return {n: round(self.cpu.get(n, 0.0) * 1000 / max(1, calls), 4) for n in names}


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Count the CPU of this block to ``name`` while a benchmark measures (else nothing)."""
    current = _CURRENT.get()
    if current is None:
        yield
        return
    current.enter(name)
    try:
        yield
    finally:
        current.leave()


@contextmanager
def measuring(clock: Callable[[], float] = time.thread_time) -> Iterator[Stages]:
    """Install a fresh ``Stages`` for this context (and tasks started from it)."""
    stages = Stages(clock=clock)
    token = _CURRENT.set(stages)
    try:
        yield stages
    finally:
        _CURRENT.reset(token)
