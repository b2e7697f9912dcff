"""The live narrative end to end with real processes (issue 12, item 7): a `medium worker`
whose scripted narrator streams at its configured latency, the `medium api` gateway, a real
Postgres, and two players and the GM on real WebSockets.

What must hold: `narrative_delta` messages reach the narrative's owner and the GM, never the
other player; once the window is routed, the final `narrative` equals the joined stream; a
reconnect with `since` replays final narratives only; a malformed delta NOTIFY is dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from synthesis import store
from synthesis.narrative_stream import DELTA_CHANNEL
from tests.acceptance import harness
from tests.acceptance.harness import Reader
from tests.integration.api_support import bearer, two_players
from tests.integration.helpers import Cast, make_frame

pytestmark = pytest.mark.acceptance

# ~50 words over 0.6 s: many chunks, each coalesced batch one NOTIFY
STREAMING = {"MEDIUM_LLM_LATENCY": "fixed:600ms"}
DELTA_KEYS = {"window_id", "character_id", "seq", "text"}


def deltas(reader: Reader, window_id: str) -> list[dict[str, Any]]:
    return [d for d in reader.of("narrative_delta") if d["window_id"] == window_id]


def joined(reader: Reader, window_id: str) -> str:
    return "".join(d["text"] for d in deltas(reader, window_id)).strip()


async def test_the_owner_and_the_gm_see_the_narrative_being_written(st: store.Store, db_url: str,
                                                                    tmp_path: Path) -> None:
    cast: Cast = await make_frame(st, two_players(actor_budget_per_hour=0))
    alda, brix = cast.users["Alda"], cast.users["Brix"]
    assert alda
    assert brix
    async with harness.stack(db_url, tmp_path, worker_env=STREAMING) as s:
        readers = {u: await Reader.open(s.base, cast.frame_id, u) for u in (alda, brix, cast.gm)}

        async def metric(name: str) -> float:
            for line in (await s.http.get("/metrics")).text.splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
            return 0.0

        # A malformed delta is logged and dropped; the gateway carries on.
        async with st.pool.acquire() as conn:
            await conn.execute("SELECT pg_notify($1, 'not json'), pg_notify($1, $2)", DELTA_CHANNEL,
                               f'{{"frame_id": "{cast.frame_id}", "seq": "one"}}')

        async def dropped() -> bool:
            return await metric("medium_gateway_bad_deltas_total") == 2

        assert await harness.wait_until(dropped, timeout=15), s.api.output()[-3000:]

        for name, user in (("Alda", alda), ("Brix", brix)):
            r = await s.http.post(f"/frames/{cast.frame_id}/liquid", headers=bearer(user), json={
                "character_id": str(cast.ids[name]), "content": f"I watch the door, says {name}",
                "commit": True, "pscale": -1})
            assert r.status_code == 201, r.text

        async def narrated() -> bool:
            return all(len(readers[u].of("narrative")) == 1 for u in (alda, brix)) \
                and len(readers[cast.gm].of("narrative")) == 2

        assert await harness.wait_until(narrated, timeout=60), (
            s.worker.output()[-3000:], await harness.window_counts(st, cast.frame_id))
        solids = {sol.user_id: sol for sol in await st.solids(cast.frame_id)}
        assert set(solids) == {alda, brix}

        gm = readers[cast.gm]
        for user, other in ((alda, brix), (brix, alda)):
            mine, final = readers[user], solids[user]
            wid, cid = str(final.window_id), str(final.character_id)
            stream = deltas(mine, wid)
            # streamed at the narrator's latency: more than one delta, numbered from 1, all of it
            # this window's, and the final narrative is exactly the joined stream
            assert len(stream) > 1, mine.messages
            assert [d["seq"] for d in stream] == list(range(1, len(stream) + 1))
            assert all(set(d) == DELTA_KEYS and d["character_id"] == cid for d in stream)
            assert joined(mine, wid) == final.narrative == mine.of("narrative")[0]["narrative"]
            # every delta came before the final narrative, and none after it
            kinds = [m["type"] for m in mine.messages if m["type"] in ("narrative", "narrative_delta")]
            assert kinds == ["narrative_delta"] * len(stream) + ["narrative"]
            # ephemeral: a delta's cursor is the last one sent, never one of its own
            events = [c for c, _ in mine.seen()]
            assert all(m["cursor"] in [0, *events] for m in mine.messages if m["type"] == "narrative_delta")
            # the GM sees the same stream; the other player none of it
            assert [d["seq"] for d in deltas(gm, wid)] == [d["seq"] for d in stream]
            assert joined(gm, wid) == final.narrative
            assert all(d["character_id"] != cid for d in readers[other].of("narrative_delta"))
        assert {m["type"] for m in gm.messages} >= {"narrative_delta", "narrative", "outcome"}
        assert await metric("medium_gateway_deltas_total") == sum(
            len(r.of("narrative_delta")) for r in readers.values())

        # A reconnect with `since` replays the final narratives only.
        for user in (alda, cast.gm):
            await readers[user].close()
            again = await Reader.open(s.base, cast.frame_id, user, since=0)
            expected = await visible(st, user, cast.frame_id)

            async def caught_up(again: Reader = again, expected: list[tuple[int, str]] = expected) -> bool:
                return again.seen() == expected

            assert await harness.wait_until(caught_up, timeout=15), (again.seen(), expected)
            assert again.of("narrative_delta") == []
            assert [n["narrative"] for n in again.of("narrative")] == [
                sol.narrative for sol in sorted(solids.values(), key=lambda x: x.seq) if sol.user_id == user
                or user == cast.gm]
            await again.close()
        await readers[brix].close()


async def visible(st: store.Store, user: UUID, frame_id: UUID) -> list[tuple[int, str]]:
    """Every event RLS lets this user see, in cursor order: what a catch-up from 0 sends."""
    async with st.as_user(user) as conn:
        return [(e.seq, e.type) for e in await st.events_since(frame_id, 0, limit=100_000, conn=conn)]
