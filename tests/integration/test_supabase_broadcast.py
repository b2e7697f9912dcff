"""Supabase Broadcast at parity with the gateway (issue 13, item 6), against a stand-in
`realtime.send` on plain Postgres (the function's Supabase signature; it records what it is
asked to send), and the GM topic's policy on the Supabase-shaped database.

The switch is the database's row `medium_private.settings.realtime`; no connection sets
anything, so every writer (here the store, the worker's synthesis and the `medium submit` CLI
in a subprocess with MEDIUM_REALTIME unset) broadcasts once it is 'supabase'."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from synthesis import liquid, medium, migrations, store
from synthesis.settings import Settings
from tests.integration.helpers import Cast, commit, make_frame, scripted_registry, three_players
from tests.integration.test_supabase_grants import as_role, member
from workers.commands.common import prepare_database

STANDIN = """
CREATE SCHEMA IF NOT EXISTS realtime;
CREATE TABLE realtime.sent (n bigserial, payload jsonb, event text, topic text, private boolean);
CREATE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
RETURNS void LANGUAGE sql AS $$ INSERT INTO realtime.sent (payload, event, topic, private)
                                VALUES (payload, event, topic, private) $$;
"""
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def with_npc() -> dict[str, Any]:
    spec = three_players()
    spec["characters"].append({"name": "Dex", "universal": "A droid.", "internal": "DEX-SECRET",
                               "external": "Beeps."})
    return spec


async def switch(st: store.Store, transport: str) -> None:
    async with st.pool.acquire() as conn:
        assert await store.set_realtime(conn, transport)


async def sent(st: store.Store) -> list[dict[str, Any]]:
    async with st.pool.acquire() as conn:
        return [dict(r) for r in await conn.fetch("SELECT event, topic, private, payload FROM realtime.sent "
                                                  "ORDER BY n")]


async def play_all(st: store.Store, cast: Cast) -> None:
    for w in await st.claim_due_windows(FAR, limit=10, worker_id="t", lease_seconds=30):
        await medium.synthesize(st, scripted_registry(), cast.frame_id, w.id, now=NOW)


async def test_nothing_is_broadcast_until_the_database_says_so(st: store.Store) -> None:
    async with st.pool.acquire() as conn:
        await conn.execute(STANDIN)
        assert await store.realtime(conn) == "notify"
    cast = await make_frame(st, three_players())
    await commit(st, cast, "Alda", "I wait", -2, NOW)
    assert await sent(st) == []
    await switch(st, "supabase")
    await commit(st, cast, "Brix", "I wait too", -2, NOW)
    assert await sent(st) != []


async def test_gm_topic_gets_everything_and_a_player_topic_only_its_own(st: store.Store) -> None:
    async with st.pool.acquire() as conn:
        await conn.execute(STANDIN)
    cast = await make_frame(st, with_npc())
    await switch(st, "supabase")
    await commit(st, cast, "Alda", "I draw my blade", -2, NOW)
    await liquid.submit(st, None, frame_id=cast.frame_id, character_id=cast.ids["Dex"], content="I beep",
                        now=NOW, user_id=None, commit=True, pscale=-2)  # an NPC: empty audience
    await play_all(st, cast)
    messages = await sent(st)
    assert messages
    assert all(m["private"] for m in messages)
    assert all({"type", "cursor", "id", "frame_id"} <= set(m["payload"]) for m in messages)
    gm_topic = f"frame:{cast.frame_id}:gm"
    gm = [m for m in messages if m["topic"] == gm_topic]
    async with st.pool.acquire() as conn:
        events = await conn.fetch("SELECT seq, type, ref_id, audience FROM events WHERE frame_id = $1 "
                                  "ORDER BY seq", cast.frame_id)
    # The GM's topic: every event of the frame, once, in cursor order (what the gateway gives the GM).
    assert [m["payload"]["cursor"] for m in gm] == [e["seq"] for e in events]
    assert {"narrative", "timer", "liquid", "outcome"} <= {m["event"] for m in gm}
    npc_events = [e for e in events if e["audience"] == []]
    assert {e["type"] for e in npc_events} >= {"narrative", "timer", "liquid"}
    assert {e["seq"] for e in npc_events} <= {m["payload"]["cursor"] for m in gm}
    # A player's topic: only the events whose audience names that player.
    alda = cast.users["Alda"]
    mine = [m for m in messages if m["topic"] == f"user:{alda}"]
    assert {m["event"] for m in mine} >= {"narrative", "timer", "liquid"}
    expected = [e["seq"] for e in events if e["audience"] is not None and alda in e["audience"]]
    assert [m["payload"]["cursor"] for m in mine] == expected
    for name in ("Brix", "Cato"):
        assert not [m for m in messages if m["topic"] == f"user:{cast.users[name]}"]
    # Frame-wide events go to the frame topic; nothing private does.
    frame = [m for m in messages if m["topic"] == f"frame:{cast.frame_id}"]
    assert [m["payload"]["cursor"] for m in frame] == [e["seq"] for e in events if e["audience"] is None]
    assert "narrative" not in {m["event"] for m in frame}


async def test_a_cli_commit_broadcasts_too(st: store.Store, db_url: str) -> None:
    async with st.pool.acquire() as conn:
        await conn.execute(STANDIN)
    cast = await make_frame(st, three_players())
    await switch(st, "supabase")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIUM_")}
    env["MEDIUM_LLM"] = "scripted"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workers", "submit", "--frame", str(cast.frame_id), "--character", "Cato",
        "--text", "I slip behind the bar", "--commit", "--database-url", db_url, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    topics = {(m["event"], m["topic"]) for m in await sent(st)}
    cato = cast.users["Cato"]
    assert ("timer", f"user:{cato}") in topics
    assert ("liquid", f"user:{cato}") in topics
    assert ("timer", f"frame:{cast.frame_id}:gm") in topics


async def test_a_database_level_medium_realtime_carries_over(empty_db_url: str) -> None:
    """An install that switched Broadcast on with ALTER DATABASE ... SET medium.realtime keeps it."""
    conn = await store.connect(empty_db_url)
    try:
        db = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'ALTER DATABASE "{db}" SET medium.realtime = \'supabase\'')
    finally:
        await conn.close()
    await migrations.apply(empty_db_url)
    conn = await store.connect(empty_db_url)
    try:
        assert await store.realtime(conn) == "supabase"
    finally:
        await conn.close()


async def test_only_the_frames_gm_may_join_its_gm_topic(supabase_st: store.Store) -> None:
    """Realtime authorises a join by selecting a message of the topic as the user: the GM's
    topic is the GM's alone (not a member's, not an outsider's), and a malformed one is refused."""
    cast = await make_frame(supabase_st, three_players())
    topics = {"gm": f"frame:{cast.frame_id}:gm", "bad": f"frame:{str(cast.frame_id)[:-1]}x:gm",
              "other": f"frame:{uuid.uuid4()}:gm"}
    ids: dict[str, UUID] = {}
    async with supabase_st.pool.acquire() as conn:
        for key, topic in topics.items():
            ids[key] = await conn.fetchval("INSERT INTO realtime.messages (topic, extension) "
                                           "VALUES ($1, 'broadcast') RETURNING id", topic)

    async def reads(user: UUID | None, key: str) -> bool:
        async with as_role(supabase_st, "authenticated", member(user)) as conn:
            await conn.execute("SELECT set_config('realtime.topic', $1, true)", topics[key])
            return await conn.fetchval("SELECT count(*) FROM realtime.messages WHERE topic = $1 AND id = $2",
                                       topics[key], ids[key]) == 1

    assert await reads(cast.gm, "gm")
    assert not await reads(cast.users["Alda"], "gm")  # a member, not the GM
    assert not await reads(uuid.uuid4(), "gm")
    assert not await reads(cast.gm, "bad")
    assert not await reads(cast.gm, "other")


async def test_a_serving_process_records_medium_realtime_only_when_it_is_set(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIUM_REALTIME", raising=False)
    monkeypatch.setenv("MEDIUM_AUTO_MIGRATE", "false")
    await prepare_database(db_url, Settings(MEDIUM_REALTIME="supabase"))
    conn = await store.connect(db_url)
    try:
        assert await store.realtime(conn) == "supabase"
        await prepare_database(db_url, Settings())  # a process without the variable leaves it
        assert await store.realtime(conn) == "supabase"
        await prepare_database(db_url, Settings(MEDIUM_REALTIME="notify"))
        assert await store.realtime(conn) == "notify"
    finally:
        await conn.close()


async def test_config_sends_the_web_client_to_broadcast_only_when_the_database_broadcasts(
        st: store.Store, db_url: str) -> None:
    from tests.integration.api_support import running_api

    client = {"SUPABASE_ANON_KEY": "anon-key", "MEDIUM_SUPABASE_CLIENT_URL": "http://realtime-dev.localhost:4000/"}
    async with running_api(db_url, **client) as api:
        assert (await api.client.get("/config")).json()["realtime"] == "notify"  # the switch is off
        await switch(st, "supabase")
        doc = (await api.client.get("/config")).json()
    assert doc["realtime"] == "supabase"
    assert doc["supabase"] == {"url": "http://realtime-dev.localhost:4000", "anon_key": "anon-key"}
    async with running_api(db_url) as api:  # broadcasting, but no client settings: the gateway
        doc = (await api.client.get("/config")).json()
    assert (doc["realtime"], doc["supabase"]) == ("notify", None)
