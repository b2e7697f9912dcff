"""``medium up``: the API plus N worker processes under a small supervisor.

A crashed child is restarted with exponential backoff (reset after it stays up for a while);
SIGINT/SIGTERM are forwarded to every child, which then get a grace period before SIGKILL.
Every start, exit and restart is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    restart: bool = True
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    history: list[int] = field(default_factory=list)  # exit codes
    log: Path | None = None  # append stdout+stderr here (default: inherit the supervisor's)


class Supervisor:
    def __init__(self, children: list[Child], *, grace: float = 15.0, env: dict[str, str] | None = None,
                 handle_signals: bool = True):
        self.children = children
        self.grace = grace
        self.handle_signals = handle_signals  # False: the embedding program owns SIGINT/SIGTERM
        self.env = {**os.environ, **(env or {})}
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def _start(self, child: Child) -> asyncio.subprocess.Process:
        if child.log is None:
            proc = await asyncio.create_subprocess_exec(*child.argv, env=self.env)
        else:
            with child.log.open("ab") as out:
                proc = await asyncio.create_subprocess_exec(
                    *child.argv, env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT)
        child.proc = proc
        child.started_at = asyncio.get_running_loop().time()
        log.info("started", extra={"action": "child_start", "child": child.name, "pid": proc.pid})
        return proc

    async def _watch(self, child: Child) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            proc = await self._start(child)
            code = await proc.wait()
            child.history.append(code)
            if self._stopping.is_set():
                return
            uptime = asyncio.get_running_loop().time() - child.started_at
            if uptime > 30:
                backoff = 0.5
            log.warning("child exited; restarting", extra={
                "action": "child_restart", "child": child.name, "code": code,
                "restart_in": backoff, "restarts": child.restarts + 1})
            if not child.restart:
                self.stop()
                return
            child.restarts += 1
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                return
            except TimeoutError:
                backoff = min(10.0, backoff * 2)

    async def run(self) -> int:
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        watchers = [asyncio.create_task(self._watch(c), name=c.name) for c in self.children]
        await self._stopping.wait()
        await self.shutdown()
        for w in watchers:
            w.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        return 0

    async def shutdown(self) -> None:
        live = [(c, c.proc) for c in self.children if c.proc and c.proc.returncode is None]
        for c, proc in live:
            log.info("stopping", extra={"action": "child_stop", "child": c.name, "pid": proc.pid})
            proc.send_signal(signal.SIGTERM)
        waits = [asyncio.wait_for(proc.wait(), self.grace) for _, proc in live]
        for (c, proc), res in zip(live, await asyncio.gather(*waits, return_exceptions=True), strict=True):
            if isinstance(res, BaseException) and proc.returncode is None:
                log.warning("killing", extra={"action": "child_kill", "child": c.name})
                proc.kill()
                await proc.wait()


def medium_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "workers", *args]
