"""Helpers for the GM-authority tests (issue 15): an API on an injected FakeClock, events by
type with their audiences, and a worker pass that synthesizes every claimable window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx

from api.app import create_app
from synthesis import medium, store
from synthesis.clock import FakeClock
from synthesis.types import Window
from tests.integration.api_support import Api, bearer, settings
from tests.integration.helpers import scripted_registry


@dataclass
class ClockedApi(Api):
    clock: FakeClock

    async def post(self, path: str, user: UUID, body: Any = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=bearer(user))

    async def get(self, path: str, user: UUID) -> httpx.Response:
        return await self.client.get(path, headers=bearer(user))


@asynccontextmanager
async def clocked_api(db_url: str) -> AsyncIterator[ClockedApi]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings(db_url), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://medium.test") as client:
            yield ClockedApi(app, client, clock)


async def events(st: store.Store, frame_id: UUID, since: int = 0) -> list[tuple[str, UUID, list[UUID] | None]]:
    """(type, ref_id, audience) of the frame's events after ``since``, in cursor order."""
    return [(e.type, e.ref_id, e.audience) for e in await st.events_since(frame_id, since, limit=10_000)]


async def event_seq(st: store.Store, frame_id: UUID) -> int:
    frame = await st.get_frame(frame_id)
    assert frame is not None
    return frame.event_seq


async def work(st: store.Store, now: datetime) -> list[Window]:
    """One worker pass at ``now``: claim what is due, synthesize it. Returns what it claimed."""
    claimed = await st.claim_due_windows(now, limit=50, worker_id="test", lease_seconds=30)
    reg = scripted_registry()
    try:
        for w in claimed:
            await medium.synthesize(st, reg, w.frame_id, w.id, now=now)
    finally:
        await reg.aclose()
    return claimed


async def per_window(st: store.Store, frame_id: UUID) -> dict[UUID, tuple[int, int]]:
    """Window id -> (outcomes, solids) written for it: the exactly-once ledger."""
    out: dict[UUID, tuple[int, int]] = {}
    for o in await st.outcomes(frame_id):
        n, s = out.get(o.window_id, (0, 0))
        out[o.window_id] = (n + 1, s)
    for s_ in await st.solids(frame_id):
        n, s = out.get(s_.window_id, (0, 0))
        out[s_.window_id] = (n, s + 1)
    return out
