"""Grants that hold under Supabase's default privileges (ALL to anon and authenticated on
everything the migrating role creates in public): proven on the Supabase-shaped database,
as `authenticated` with a member's JWT claims and as `anon`, the way PostgREST and Realtime run."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from synthesis import errors, store
from synthesis.commit import commit_plan
from tests.integration.helpers import Cast, commit, make_frame, three_players

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Meant for players: the RLS helpers their policies call (schema medium_private, not exposed).
PLAYER_FUNCTIONS = {"medium_private.medium_is_member(uuid)", "medium_private.medium_is_gm(uuid)",
                    "medium_private.medium_owns_character(uuid,uuid)",
                    "medium_private.medium_affiliation_known(uuid,uuid)"}
OURS = "n.nspname IN ('public', 'medium_private')"
FUNCTIONS = f"""
SELECT p.oid, p.oid::regprocedure::text AS sig, p.prosecdef, p.prorettype = 'trigger'::regtype AS is_trigger,
       p.pronargs, p.proconfig
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {OURS}
"""


@pytest.fixture
async def cast(supabase_st: store.Store) -> Cast:
    return await make_frame(supabase_st, three_players())


@asynccontextmanager
async def as_role(st: store.Store, role: str, claims: dict[str, Any] | None = None
                  ) -> AsyncIterator[asyncpg.Connection]:
    """One transaction as ``role`` with these JWT claims, as PostgREST runs a request; rolled back."""
    async with st.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute("SELECT set_config('request.jwt.claims', $1, true)",
                               json.dumps(claims or {"role": role}))
            await conn.execute(f"SET LOCAL ROLE {role}")
            yield conn
        finally:
            await tx.rollback()


def member(user: UUID | None) -> dict[str, Any]:
    return {"sub": str(user), "role": "authenticated"}


async def denied(conn: asyncpg.Connection, sql: str, *args: Any) -> bool:
    """True when ``sql`` fails for want of a privilege (42501); the transaction goes on."""
    try:
        async with conn.transaction():
            await conn.execute(sql, *args)
    except asyncpg.InsufficientPrivilegeError:
        return True
    return False


async def test_a_member_reads_no_internal_truth_and_no_directive(supabase_st: store.Store, cast: Cast) -> None:
    await commit(supabase_st, cast, "Alda", "I wait", -2, NOW)
    async with supabase_st.pool.acquire() as conn:  # one solid, written by the service path
        wid = await conn.fetchval("SELECT window_id FROM liquid")
        await conn.execute(
            "INSERT INTO solid (frame_id, window_id, seq, character_id, user_id, narrative, trigger_mode,"
            " synthesis_pscale, directive) VALUES ($1, $2, 99, $3, $4, 'You wait.', 'expiry', -2,"
            " 'ALDA-SECRET in the prompt')", cast.frame_id, wid, cast.ids["Alda"], cast.users["Alda"])
    async with as_role(supabase_st, "authenticated", member(cast.users["Alda"])) as conn:
        assert await denied(conn, "SELECT internal FROM characters")
        assert await denied(conn, "SELECT * FROM characters")
        assert await denied(conn, "SELECT internal FROM affiliations")
        assert await denied(conn, "SELECT directive FROM solid")
        # ...while what players may read is there, so the denials above are the column rule
        names = {r["name"] for r in await conn.fetch("SELECT name, universal, external FROM characters")}
        assert names == {"Alda", "Brix", "Cato"}
        assert await conn.fetchval("SELECT count(*) FROM affiliations") == 1  # Alda's own hidden group
        assert await conn.fetchval("SELECT narrative FROM solid") == "You wait."


async def test_a_player_writes_only_the_action_and_the_server_sets_the_rest(
        supabase_st: store.Store, cast: Cast) -> None:
    alda, frame, ch = cast.users["Alda"], cast.frame_id, cast.ids["Alda"]
    async with as_role(supabase_st, "authenticated", member(alda)) as conn:
        for column, value in (("pscale", 2), ("status", "committed"), ("timer_duration", 0.5),
                              ("interruptive", True), ("soft_source", "llm"), ("user_id", alda),
                              ("window_id", uuid.uuid4()), ("submitted_at", NOW)):
            assert await denied(conn, f"INSERT INTO liquid (frame_id, character_id, content, {column}) "
                                      "VALUES ($1, $2, 'I run', $3)", frame, ch, value), column
        row = await conn.fetchrow(
            "INSERT INTO liquid (frame_id, character_id, content, client_key) "
            "VALUES ($1, $2, 'I shoot Brix', 'k1') RETURNING *", frame, ch)
        assert row["user_id"] == alda
        assert (row["status"], row["pscale"], row["timer_duration"]) == ("submitted", -1, 15)
        assert (row["interruptive"], row["interrupt_targets"], row["soft_source"]) == (False, [], "fallback")
        assert row["window_id"] is None
        assert row["committed_at"] is None
        for column, value in (("pscale", 2), ("status", "committed"), ("timer_duration", 0.5),
                              ("committed_at", NOW), ("character_id", cast.ids["Brix"])):
            assert await denied(conn, f"UPDATE liquid SET {column} = $2 WHERE id = $1", row["id"], value), column
    async with supabase_st.pool.acquire() as conn:  # the API's analysis, as the service
        sub_id = await conn.fetchval(
            "INSERT INTO liquid (frame_id, character_id, user_id, content, pscale, timer_duration, "
            "interruptive, soft_source) VALUES ($1, $2, $3, 'I dive', -3, 4, true, 'llm') RETURNING id",
            frame, ch, alda)
    async with as_role(supabase_st, "authenticated", member(alda)) as conn:
        # a draft's text: allowed, and the server's fields are set again (that analysis was stale)
        row = await conn.fetchrow("UPDATE liquid SET content = 'I sit down' WHERE id = $1 RETURNING *", sub_id)
        assert (row["content"], row["pscale"], row["interruptive"], row["soft_source"]) == \
            ("I sit down", -1, False, "fallback")
    async with supabase_st.pool.acquire() as conn:
        assert await conn.fetchval("SELECT pscale FROM liquid WHERE id = $1", sub_id) == -3  # rolled back
    committed = await commit(supabase_st, cast, "Alda", "I wait", -2, NOW)
    async with as_role(supabase_st, "authenticated", member(alda)) as conn:  # after commit: no edit
        assert await conn.fetchval("UPDATE liquid SET content = 'x' WHERE id = $1 RETURNING id",
                                   committed.liquid.id) is None


async def test_no_function_but_the_rls_helpers_is_a_players(supabase_st: store.Store, cast: Cast) -> None:
    async with supabase_st.pool.acquire() as conn:
        fns = await conn.fetch(FUNCTIONS)
    sigs = {f["sig"].replace(" ", "") for f in fns}
    assert PLAYER_FUNCTIONS <= sigs
    # Every SECURITY DEFINER function is one meant for players; each pins its search_path.
    assert {f["sig"].replace(" ", "") for f in fns if f["prosecdef"]} == PLAYER_FUNCTIONS
    assert all(any(c.startswith("search_path=") for c in f["proconfig"] or []) for f in fns), \
        [f["sig"] for f in fns if not f["proconfig"]]
    async with as_role(supabase_st, "authenticated", member(cast.users["Alda"])) as conn:
        for f in fns:
            sig = f["sig"].replace(" ", "")
            allowed = await conn.fetchval("SELECT has_function_privilege($1::oid, 'EXECUTE')", f["oid"])
            assert allowed == (sig in PLAYER_FUNCTIONS), sig
            if not allowed and not f["is_trigger"]:
                nulls = ", ".join(["NULL"] * f["pronargs"])
                assert await denied(conn, f"SELECT {sig.split('(')[0]}({nulls})"), sig
        assert await conn.fetchval("SELECT medium_private.medium_is_member($1)", cast.frame_id) is True
        assert await conn.fetchval(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND has_function_privilege(p.oid, 'EXECUTE')") == 0


async def test_anon_is_denied_every_play_table_and_rpc(supabase_st: store.Store, cast: Cast) -> None:
    async with supabase_st.pool.acquire() as conn:
        tables = [r["t"] for r in await conn.fetch(
            "SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE {OURS} AND c.relkind IN ('r', 'p', 'v', 'm')")]
        fns = await conn.fetch(FUNCTIONS)
    assert {"frames", "characters", "liquid", "solid", "events", "rate_buckets",
            "medium_private.medium_migrations"} <= set(tables)
    async with as_role(supabase_st, "anon") as conn:
        for t in tables:
            assert await denied(conn, f"SELECT 1 FROM {t} LIMIT 1"), t
        assert await denied(conn, "INSERT INTO liquid (frame_id, character_id, content) VALUES ($1, $2, 'x')",
                            cast.frame_id, cast.ids["Alda"])
        assert await conn.fetchval("SELECT has_schema_privilege('medium_private', 'USAGE')") is False
        for f in fns:
            assert await conn.fetchval("SELECT has_function_privilege($1::oid, 'EXECUTE')",
                                       f["oid"]) is False, f["sig"]
            if not f["is_trigger"] and f["sig"].startswith("medium_"):  # public: the Data API's RPCs
                nulls = ", ".join(["NULL"] * f["pronargs"])
                assert await denied(conn, f"SELECT {f['sig'].split('(')[0]}({nulls})"), f["sig"]


async def test_realtime_authorises_topics_as_realtime_does(supabase_st: store.Store, cast: Cast) -> None:
    """Realtime inserts a message of the channel's topic, sets role, realtime.topic and the
    claims, and selects it back: the policies on realtime.messages decide."""
    outsider = uuid.uuid4()
    topics = {"frame": f"frame:{cast.frame_id}", "alda": f"user:{cast.users['Alda']}",
              "bad": "frame:not-a-uuid", "bad2": "frame:" + str(cast.frame_id)[:-1] + "x"}
    ids: dict[str, UUID] = {}
    async with supabase_st.pool.acquire() as conn:
        for key, topic in topics.items():
            ids[key] = await conn.fetchval("INSERT INTO realtime.messages (topic, extension) "
                                           "VALUES ($1, 'broadcast') RETURNING id", topic)

    async def reads(user: UUID | None, key: str) -> bool:
        async with as_role(supabase_st, "authenticated", member(user)) as conn:
            await conn.execute("SELECT set_config('realtime.topic', $1, true)", topics[key])
            return await conn.fetchval("SELECT count(*) FROM realtime.messages WHERE topic = $1 "
                                       "AND extension = 'broadcast' AND id = $2", topics[key], ids[key]) == 1

    assert await reads(cast.users["Brix"], "frame")  # a member
    assert await reads(cast.gm, "frame")  # the GM
    assert not await reads(outsider, "frame")  # not a member
    assert await reads(cast.users["Alda"], "alda")
    assert not await reads(cast.users["Brix"], "alda")
    assert not await reads(cast.gm, "alda")  # a user topic is its user's alone
    assert not await reads(cast.users["Alda"], "bad")  # refused, not an error
    assert not await reads(cast.users["Alda"], "bad2")


async def test_a_commit_for_a_jwt_without_a_user_is_refused(supabase_st: store.Store, cast: Cast) -> None:
    """medium_commit_v2 in a request's transaction (claims set, as the API's as_user path and
    any Supabase request do) must name a user; a trusted caller without claims (a worker, an
    NPC actor) commits as before."""
    async with supabase_st.transaction() as tx:
        liq = await supabase_st.insert_liquid(
            tx, frame_id=cast.frame_id, character_id=cast.ids["Alda"], user_id=cast.users["Alda"],
            content="I wait", refined_text=None, pscale=-2, timer_duration=5, interruptive=False,
            interrupt_targets=[], soft_source="given", soft_note=None, now=NOW)
    assert liq is not None
    async with supabase_st.transaction() as tx:
        await tx.conn.execute("SELECT set_config('request.jwt.claims', $1, true)",
                              json.dumps({"role": "authenticated"}))
        with pytest.raises(errors.Forbidden, match="not signed in"):
            await supabase_st.commit_liquid(tx, cast.frame_id, liq.id, NOW)
    async with supabase_st.transaction() as tx:
        done = await supabase_st.commit_liquid(tx, cast.frame_id, liq.id, NOW)
    assert done.status == "committed"
    assert done.committed_at == NOW


async def test_an_untrusted_callers_now_is_not_taken(st: store.Store) -> None:
    """A caller that is not service_role (here a role given the tables and the functions, but
    no membership of service_role) commits at the database's now(), not at its plan's `now`.
    On plain Postgres: only a superuser may make the BYPASSRLS role this needs."""
    cast = await make_frame(st, three_players())
    role = f"medium_untrusted_{uuid.uuid4().hex[:8]}"
    async with st.transaction() as tx:
        liq = await st.insert_liquid(
            tx, frame_id=cast.frame_id, character_id=cast.ids["Alda"], user_id=cast.users["Alda"],
            content="I wait", refined_text=None, pscale=-2, timer_duration=5, interruptive=False,
            interrupt_targets=[], soft_source="given", soft_note=None, now=NOW)
    assert liq is not None
    async with st.pool.acquire() as conn:
        await conn.execute(f"CREATE ROLE {role} NOLOGIN BYPASSRLS")
        try:
            await conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}; "
                               f"GRANT USAGE ON SCHEMA medium_private, auth TO {role}; "
                               f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}; "
                               f"GRANT {role} TO current_user")
            async with conn.transaction():
                await conn.execute("SELECT set_config('request.jwt.claims', $1, true)",
                                   json.dumps(member(cast.users["Alda"])))
                await conn.execute(f"SET LOCAL ROLE {role}")
                doc = await conn.fetchval("SELECT public.medium_commit_snapshot_v2($1, $2)", cast.frame_id, liq.id)
                plan = commit_plan(doc, NOW)  # a plan dated 2026-01-01
                row = await conn.fetchval("SELECT public.medium_commit_v2($1, $2, $3)", cast.frame_id, liq.id, plan)
                db_now = await conn.fetchval("SELECT now()")
        finally:
            await conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
    assert row["status"] == "committed"
    assert datetime.fromisoformat(row["committed_at"]) == db_now != NOW
