"""The per-user submission limit holds across API replicas: two `medium api` processes on one
database allow the burst once between them, and answer the rest 429 with Retry-After."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest

from synthesis import store
from tests.acceptance import harness
from tests.integration.api_support import SECRET, bearer, free_port, two_players
from tests.integration.helpers import make_frame

pytestmark = pytest.mark.acceptance
BURST = 6


async def test_two_api_processes_share_one_limit(st: store.Store, db_url: str, tmp_path: Path) -> None:
    cast = await make_frame(st, two_players())
    alda = cast.users["Alda"]
    assert alda
    environ = harness.env(MEDIUM_JWT_SECRET=SECRET, MEDIUM_RATE_LIMIT="0.001", MEDIUM_RATE_BURST=str(BURST))
    environ.pop("DATABASE_URL", None)
    ports = [free_port(), free_port()]
    procs = [harness.Proc(["api", "--database-url", db_url, "--port", str(p)], environ, tmp_path / f"api{i}.log")
             for i, p in enumerate(ports)]
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=10))
                       for p in ports]
            for c, proc in zip(clients, procs, strict=True):
                async def healthy(c: httpx.AsyncClient = c) -> bool:
                    with contextlib.suppress(httpx.TransportError):
                        return (await c.get("/health")).status_code == 200
                    return False
                assert await harness.wait_until(healthy, timeout=30), proc.output()
            statuses: list[int] = []
            refused: list[httpx.Response] = []
            for i in range(3 * BURST):
                r = await clients[i % 2].post(f"/frames/{cast.frame_id}/liquid", headers=bearer(alda), json={
                    "character_id": str(cast.ids["Alda"]), "content": f"I count to {i}"})
                statuses.append(r.status_code)
                if r.status_code == 429:
                    refused.append(r)
    finally:
        for p in procs:
            p.stop()
    # Each process alone would allow BURST: together they allowed BURST, not 2 * BURST.
    assert statuses.count(201) == BURST, statuses
    assert statuses.count(429) == 2 * BURST, statuses
    assert {r.json()["error"]["field"] for r in refused} == {"user_id"}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    async with st.pool.acquire() as conn:  # a refused submission wrote nothing
        assert await conn.fetchval("SELECT count(*) FROM liquid WHERE frame_id = $1", cast.frame_id) == BURST
