"""The realtime path end to end with real processes: a `medium api` subprocess (its gateway),
a `medium worker` subprocess, a real Postgres, and players and a GM on real WebSockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import pytest

from synthesis import store
from tests.acceptance import harness
from tests.acceptance.harness import Reader, Stack
from tests.integration.api_support import bearer, two_players
from tests.integration.helpers import Cast, make_frame

pytestmark = pytest.mark.acceptance


async def truth(st: store.Store, user: UUID, frame_id: UUID, since: int = 0) -> list[tuple[int, str]]:
    """Every event after `since` that RLS lets this user see, in cursor order."""
    async with st.as_user(user) as conn:
        return [(e.seq, e.type) for e in await st.events_since(frame_id, since, limit=100_000, conn=conn)]


async def delivered_exactly(st: store.Store, reader: Reader, user: UUID, frame_id: UUID,
                            since: int = 0, timeout: float = 15.0) -> list[tuple[int, str]]:
    """Wait until the reader has every visible event, then check nothing else came."""
    expected = await truth(st, user, frame_id, since)
    await harness.wait_until(lambda: _at_least(reader, len(expected)), timeout=timeout, interval=0.05)
    await asyncio.sleep(0.3)  # a duplicate or a stray message would show up now
    assert reader.seen() == expected
    return expected


async def _at_least(reader: Reader, n: int) -> bool:
    return len(reader.seen()) >= n


async def play(s: Stack, st: store.Store, cast: Cast, names: tuple[str, ...], text: str) -> None:
    """Each named player commits an action through the API; wait until the worker resolved all."""
    async with st.pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM outcomes WHERE frame_id = $1", cast.frame_id)
    for name in names:
        user = cast.users[name]
        assert user
        r = await s.http.post(f"/frames/{cast.frame_id}/liquid", headers=bearer(user), json={
            "character_id": str(cast.ids[name]), "content": f"{text}, says {name}", "commit": True})
        assert r.status_code == 201, r.text

    async def resolved() -> bool:
        counts = await harness.window_counts(st, cast.frame_id)
        async with st.pool.acquire() as conn:
            n = await conn.fetchval("SELECT count(*) FROM outcomes WHERE frame_id = $1", cast.frame_id)
        return n >= before + len(names) and not counts.get("open") and not counts.get("claimed")

    assert await harness.wait_until(resolved, timeout=30), (s.worker.output()[-3000:],
                                                            await harness.window_counts(st, cast.frame_id))
    assert "failed" not in await harness.window_counts(st, cast.frame_id)


@pytest.fixture
async def cast(st: store.Store) -> Cast:
    return await make_frame(st, two_players())


def players(cast: Cast) -> tuple[UUID, UUID]:
    a, b = cast.users["Alda"], cast.users["Brix"]
    assert a
    assert b
    return a, b


async def test_players_and_gm_receive_what_they_may(st: store.Store, db_url: str, tmp_path: Path,
                                                    cast: Cast) -> None:
    alda, brix = players(cast)
    async with harness.stack(db_url, tmp_path) as s:
        readers = {u: await Reader.open(s.base, cast.frame_id, u) for u in (alda, brix, cast.gm)}
        await play(s, st, cast, ("Alda", "Brix"), "I watch the door")
        await play(s, st, cast, ("Alda", "Brix"), "I order a drink")
        outcomes = [o.id for o in await st.outcomes(cast.frame_id)]
        solids = await st.solids(cast.frame_id)
        assert len(outcomes) == 4
        assert len(solids) == 4
        for user in readers:
            await delivered_exactly(st, readers[user], user, cast.frame_id)
        for user in (alda, brix):
            r = readers[user]
            assert [UUID(o["id"]) for o in r.of("outcome")] == outcomes  # every outcome
            mine = [x.id for x in solids if x.user_id == user]
            assert [UUID(n["id"]) for n in r.of("narrative")] == mine  # only their own narratives
            assert all(n["user_id"] == str(user) for n in r.of("narrative"))
            assert {UUID(t["character_id"]) for t in r.of("timer")} == {cast.ids["Alda" if user == alda else "Brix"]}
        gm = readers[cast.gm]
        assert [UUID(o["id"]) for o in gm.of("outcome")] == outcomes
        assert [UUID(n["id"]) for n in gm.of("narrative")] == [x.id for x in solids]
        assert {m["type"] for m in gm.messages} == {"outcome", "narrative", "timer", "liquid", "frame",
                                                    "narrative_delta"}
        rest = (await s.http.get(f"/frames/{cast.frame_id}/outcomes", headers=bearer(alda))).json()
        assert readers[alda].of("outcome") == rest  # data is the row exactly as REST returns it
        for r in readers.values():
            await r.close()


async def test_reconnect_with_since_gets_exactly_the_missed(st: store.Store, db_url: str, tmp_path: Path,
                                                             cast: Cast) -> None:
    alda, _brix = players(cast)
    async with harness.stack(db_url, tmp_path) as s:
        gm = await Reader.open(s.base, cast.frame_id, cast.gm)
        first = await Reader.open(s.base, cast.frame_id, alda)
        await play(s, st, cast, ("Alda",), "I watch the door")
        await delivered_exactly(st, first, alda, cast.frame_id)
        last = first.seen()[-1][0]
        await first.close()

        # while Alda is away: two outcomes, one of them with her narrative
        await play(s, st, cast, ("Alda", "Brix"), "I sit down")
        missed = await truth(st, alda, cast.frame_id, since=last)
        kinds = [k for _, k in missed]
        assert kinds.count("outcome") == 2
        assert kinds.count("narrative") == 1

        again = await Reader.open(s.base, cast.frame_id, alda, since=last)
        got = await delivered_exactly(st, again, alda, cast.frame_id, since=last)
        cursors = [c for c, _ in got]
        assert cursors == sorted(set(cursors))
        assert cursors[0] > last
        assert again.of("narrative")[0]["user_id"] == str(alda)
        await play(s, st, cast, ("Brix",), "I leave")  # and it is live again afterwards
        await delivered_exactly(st, again, alda, cast.frame_id, since=last)
        await delivered_exactly(st, gm, cast.gm, cast.frame_id)
        await again.close()
        await gm.close()


async def listener_pids(st: store.Store) -> list[int]:
    async with st.pool.acquire() as conn:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE application_name = 'medium-gateway' "
                                "AND datname = current_database() AND query LIKE 'LISTEN%'")
    return [r["pid"] for r in rows]


async def test_listener_restart_loses_nothing(st: store.Store, db_url: str, tmp_path: Path,
                                              cast: Cast) -> None:
    alda, brix = players(cast)
    async with harness.stack(db_url, tmp_path) as s:
        readers = {u: await Reader.open(s.base, cast.frame_id, u) for u in (alda, brix, cast.gm)}
        await play(s, st, cast, ("Alda", "Brix"), "I watch the door")
        old = await listener_pids(st)
        assert len(old) == 1
        async with st.pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", old[0])
        # events written while the gateway may have no listener at all
        await play(s, st, cast, ("Alda", "Brix"), "I order a drink")

        async def relistening() -> bool:
            pids = await listener_pids(st)
            return len(pids) == 1 and pids != old

        assert await harness.wait_until(relistening, timeout=15), s.api.output()[-3000:]
        await play(s, st, cast, ("Alda",), "I pay")
        for user, reader in readers.items():
            await delivered_exactly(st, reader, user, cast.frame_id)
        assert len(readers[alda].of("outcome")) == 5
        metrics = (await s.http.get("/metrics")).text
        assert "medium_gateway_reconnects_total 1" in metrics
        for r in readers.values():
            await r.close()
