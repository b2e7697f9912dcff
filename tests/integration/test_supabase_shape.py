"""The migration history on a Supabase-shaped database (tests/integration/supabase_shape.py),
applied by a role that is not a superuser, and the API's and workers' service path there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from synthesis import medium, migrations, store
from tests.integration import test_api_rest
from tests.integration.helpers import commit, make_frame, scripted_registry, three_players

OLD_SHIM = migrations.MIGRATIONS_DIR / "20261121000000_supabase_shim.sql"
SHIM_V2 = migrations.MIGRATIONS_DIR / "20261203001000_supabase_shim_v2.sql"


async def test_the_platform_refuses_create_in_auth_before_if_not_exists(supabase_empty_url: str) -> None:
    """Supabase since 2025-04-21: no CREATE on auth for the migrating role, and the privilege
    check fires before IF NOT EXISTS, so even an existing table's CREATE ... IF NOT EXISTS fails
    (42501). The first shim did exactly that; it cannot apply here."""
    conn = await store.connect(supabase_empty_url)
    try:
        assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
        assert await conn.fetchval("SELECT has_schema_privilege('auth', 'CREATE')") is False
        assert await conn.fetchval("SELECT has_schema_privilege('realtime', 'CREATE')") is False
        assert await conn.fetchval("SELECT to_regclass('auth.users') IS NOT NULL") is True
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE IF NOT EXISTS auth.users (id uuid PRIMARY KEY)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute(OLD_SHIM.read_text())
    finally:
        await conn.close()


async def test_the_whole_history_applies_as_a_non_superuser_twice(supabase_empty_url: str) -> None:
    found = migrations.discover()
    first = await migrations.apply(supabase_empty_url)
    assert first == [m.name for m in migrations.plan(found, {})]
    assert OLD_SHIM.name not in first
    assert await migrations.apply(supabase_empty_url) == []
    conn = await store.connect(supabase_empty_url)
    try:
        # The replacement shim is idempotent (it also runs after the old one, on plain Postgres).
        async with conn.transaction():
            await conn.execute(SHIM_V2.read_text())
        # Supabase's auth objects are untouched: still the platform's, with its columns.
        owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE schemaname = 'auth' "
                                    "AND tablename = 'users'")
        assert owner == "supabase_auth_admin"
        assert await conn.fetchval("SELECT count(*) FROM information_schema.columns WHERE "
                                   "table_schema = 'auth' AND table_name = 'users' "
                                   "AND column_name = 'is_sso_user'") == 1
        assert await conn.fetchval("SELECT count(*) FROM pg_policy "
                                   "WHERE polrelid = 'realtime.messages'::regclass") == 3
    finally:
        await conn.close()


async def test_workers_synthesize_and_broadcast_through_realtime_send(supabase_url: str) -> None:
    """The service path (the migrating role, as the API and workers connect) plays a window
    end to end; with the database's realtime switch at supabase the events go out through the
    platform's realtime.send."""
    conn = await store.connect(supabase_url)
    try:
        assert await store.set_realtime(conn, "supabase")
    finally:
        await conn.close()
    pool = await store.create_pool(supabase_url, max_size=4)
    st = store.Store(pool)
    try:
        cast = await make_frame(st, three_players())
        now = datetime(2026, 1, 1, tzinfo=UTC)
        sub = await commit(st, cast, "Alda", "I wait by the door", -2, now)
        assert sub.liquid.status == "committed"
        [w] = await st.claim_due_windows(datetime(2100, 1, 1, tzinfo=UTC), limit=5, worker_id="t",
                                         lease_seconds=30)
        await medium.synthesize(st, scripted_registry(), cast.frame_id, w.id, now=now)
        async with pool.acquire() as conn:
            topics = {r["topic"] for r in await conn.fetch("SELECT topic FROM realtime.messages")}
    finally:
        await pool.close()
    assert f"frame:{cast.frame_id}" in topics
    assert f"frame:{cast.frame_id}:gm" in topics
    assert f"user:{cast.users['Alda']}" in topics


@pytest.mark.parametrize("flow", [
    test_api_rest.test_liquid_submit_commit_edit_withdraw,
    test_api_rest.test_reading_is_isolated_by_rls,
    test_api_rest.test_cast_truths_are_visible_only_where_allowed,
    test_api_rest.test_gm_window_actions_and_directive,
], ids=lambda f: f.__name__.removeprefix("test_"))
async def test_the_rest_api_plays_there(supabase_url: str, flow: Callable[[str], Awaitable[None]]) -> None:
    """The REST suite's liquid, reading, secrecy and GM flows, unchanged, on the Supabase shape."""
    await flow(supabase_url)
