"""``synthesis.listener.Listener`` over a fake connection: catch-up after every connect, backoff,
the health check. No database, no wall-clock waits (the backoff sleep is injected)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from synthesis import listener as listener_mod
from synthesis.errors import DatabaseUnavailable
from synthesis.listener import Listener


class FakeConn:
    def __init__(self, pid: int):
        self.pid = pid
        self.closed = False
        self.on_terminate: Callable[[Any], None] | None = None
        self.on_notify: Callable[..., None] | None = None
        self.channels: list[str] = []

    def add_termination_listener(self, fn: Callable[[Any], None]) -> None:
        self.on_terminate = fn

    async def add_listener(self, channel: str, fn: Callable[..., None]) -> None:
        if not self.channels:
            self.channel = channel
        self.channels.append(channel)
        self.on_notify = fn

    def get_server_pid(self) -> int:
        return self.pid

    def is_closed(self) -> bool:
        return self.closed

    async def close(self, timeout: float | None = None) -> None:
        self.closed = True

    def terminate(self) -> None:
        self.closed = True

    async def execute(self, sql: str) -> str:
        raise OSError("connection reset")

    def notify(self, payload: str, channel: str | None = None) -> None:
        assert self.on_notify is not None
        assert (channel is None or channel in self.channels)
        self.on_notify(self, self.pid, channel or self.channel, payload)

    def lose(self) -> None:
        self.closed = True
        assert self.on_terminate is not None
        self.on_terminate(self)


class Harness:
    """Fake ``store.connect`` plus an injected sleep that records the backoff delays."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, failures: int = 0):
        self.conns: list[FakeConn] = []
        self.failures = failures
        self.delays: list[float] = []
        self.names: list[str | None] = []
        monkeypatch.setattr(listener_mod.store, "connect", self.connect)

    async def connect(self, dsn: str, *, application_name: str | None = None) -> FakeConn:
        self.names.append(application_name)
        if self.failures:
            self.failures -= 1
            raise DatabaseUnavailable("cannot connect to the database: refused")
        conn = FakeConn(100 + len(self.conns))
        self.conns.append(conn)
        return conn

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


async def until(pred: Callable[[], bool]) -> None:
    for _ in range(1000):
        if pred():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_catch_up_after_every_connect_and_notifications_in_between(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch)
    got: list[str] = []
    events: list[str] = []
    lst = Listener("postgresql://x/y", "chan", got.append, on_connect=lambda: events.append("connect"),
                   on_lost=lambda: events.append("lost"), application_name="app", health_seconds=None,
                   sleep=h.sleep)
    task = asyncio.create_task(lst.run())
    await until(lambda: lst.connected.is_set())
    assert (lst.pid, lst.connects, events, h.conns[0].channel) == (100, 1, ["connect"], "chan")
    h.conns[0].notify("one")
    h.conns[0].lose()
    await until(lambda: lst.connects == 2)
    assert events == ["connect", "lost", "connect"]
    assert (lst.pid, lst.failures, h.delays) == (101, 1, [0.1])
    h.conns[1].notify("two")
    assert got == ["one", "two"]
    assert h.names == ["app", "app"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.conns[1].closed
    assert lst.pid is None
    assert not lst.connected.is_set()


async def test_backoff_doubles_to_the_cap_and_resets_after_a_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch, failures=7)
    lst = Listener("postgresql://x/y", "chan", lambda _p: None, health_seconds=None, max_backoff=5.0,
                   sleep=h.sleep)
    task = asyncio.create_task(lst.run())
    await until(lambda: lst.connects == 1)
    assert h.delays == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0]
    h.conns[0].lose()
    await until(lambda: lst.connects == 2)
    assert h.delays[-1] == 0.1  # a successful connect reset it
    assert lst.failures == 8
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_failed_health_check_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch)
    connects: list[int] = []
    lst = Listener("postgresql://x/y", "chan", lambda _p: None, health_seconds=0.0, sleep=h.sleep,
                   on_connect=lambda: connects.append(lst.pid or 0))
    task = asyncio.create_task(lst.run())
    await until(lambda: len(connects) >= 2)  # FakeConn.execute fails: the first check ends it
    assert connects[:2] == [100, 101]
    assert h.conns[0].closed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await lst.healthy(h.conns[-1])


async def test_more_channels_share_the_connection_each_with_its_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(monkeypatch)
    events: list[str] = []
    deltas: list[str] = []
    lst = Listener("postgresql://x/y", "events", events.append, more={"deltas": deltas.append},
                   health_seconds=None, sleep=h.sleep)
    task = asyncio.create_task(lst.run())
    await until(lambda: lst.connected.is_set())
    assert h.conns[0].channels == ["events", "deltas"]
    h.conns[0].notify("e1")
    h.conns[0].notify("d1", "deltas")
    h.conns[0].lose()
    await until(lambda: lst.connects == 2)
    assert len(h.conns) == 2
    assert h.conns[1].channels == ["events", "deltas"]
    h.conns[1].notify("d2", "deltas")
    assert (events, deltas) == (["e1"], ["d1", "d2"])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
