"""The Supabase Broadcast path, wired against a stand-in `realtime.send` on plain Postgres
(the function's Supabase signature; it records what it is asked to send)."""

from __future__ import annotations

from datetime import UTC, datetime

from synthesis import medium, store
from tests.integration.helpers import commit, make_frame, scripted_registry, three_players

STANDIN = """
CREATE SCHEMA IF NOT EXISTS realtime;
CREATE TABLE realtime.sent (payload jsonb, event text, topic text, private boolean);
CREATE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
RETURNS void LANGUAGE sql AS $$ INSERT INTO realtime.sent VALUES (payload, event, topic, private) $$;
"""


async def test_broadcast_only_when_enabled_and_to_the_right_topics(st: store.Store) -> None:
    async with st.pool.acquire() as conn:
        await conn.execute(STANDIN)
    cast = await make_frame(st, three_players())
    now = datetime.now(UTC)
    await commit(st, cast, "Alda", "I wait", -2, now)  # realtime off: nothing sent
    async with st.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM realtime.sent") == 0
        await conn.execute("ALTER DATABASE " + await conn.fetchval("SELECT current_database()")
                           + " SET medium.realtime = 'supabase'")
    await st.pool.expire_connections()
    w = (await st.claim_due_windows(datetime(2100, 1, 1, tzinfo=UTC), limit=5, worker_id="t",
                                    lease_seconds=30))[0]
    await medium.synthesize(st, scripted_registry(), cast.frame_id, w.id, now=now)
    async with st.pool.acquire() as conn:
        sent = await conn.fetch("SELECT event, topic, private, payload FROM realtime.sent")
    topics = {(r["event"], r["topic"]) for r in sent}
    alda = cast.users["Alda"]
    assert ("outcome", f"frame:{cast.frame_id}") in topics
    assert ("narrative", f"user:{alda}") in topics
    assert all(r["private"] for r in sent)
    assert not any(r["event"] == "narrative" and r["topic"] != f"user:{alda}" for r in sent)
    assert all({"type", "cursor", "id", "frame_id"} <= set(r["payload"]) for r in sent)
