"""RLS proven against a real Postgres: queries run as `authenticated` with JWT claims."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from synthesis import scenario, store
from synthesis.errors import MediumError
from tests.integration.helpers import route_output

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def cantina(st: store.Store) -> scenario.Installed:
    return await scenario.install(st, scenario.load_scenario_file(scenario.MOS_EISLEY))


def by_name(inst: scenario.Installed, name: str) -> scenario.InstalledCharacter:
    return next(c for c in inst.characters if c.name == name)


async def seed_solids(st: store.Store, inst: scenario.Installed) -> None:
    """One committed window per player, routed, so each player has one solid and one outcome."""
    for name in ("Kessa Vorn", "Dax Orrun"):
        ch = by_name(inst, name)
        async with st.transaction() as conn:
            liq = await st.insert_liquid(
                conn, frame_id=inst.frame_id, character_id=ch.id, user_id=ch.user_id,
                content=f"{name} waits", refined_text=None, pscale=-2, timer_duration=5,
                interruptive=False, interrupt_targets=[], soft_source="given", soft_note=None, now=NOW)
            assert liq is not None
            liq = await st.commit_liquid(conn, inst.frame_id, liq.id, NOW)
        assert liq.window_id is not None
        await route_output(st, inst.frame_id, liq.window_id, ch.id, f"secret narrative of {name}", NOW,
                           action="waits")


async def test_player_reads_only_own_solid(st: store.Store, cantina: scenario.Installed) -> None:
    await seed_solids(st, cantina)
    kessa, dax = by_name(cantina, "Kessa Vorn"), by_name(cantina, "Dax Orrun")
    assert kessa.user_id
    assert dax.user_id
    async with st.as_user(kessa.user_id) as conn:
        rows = await conn.conn.fetch("SELECT user_id, narrative FROM solid")
    assert [r["narrative"] for r in rows] == ["secret narrative of Kessa Vorn"]
    assert all(r["user_id"] == kessa.user_id for r in rows)
    async with st.as_user(cantina.gm_user_id) as conn:
        assert await conn.conn.fetchval("SELECT count(*) FROM solid") == 2


async def test_inserting_liquid_for_someone_elses_character_fails(
        st: store.Store, cantina: scenario.Installed) -> None:
    kessa, dax = by_name(cantina, "Kessa Vorn"), by_name(cantina, "Dax Orrun")
    assert kessa.user_id
    with pytest.raises(MediumError) as err:
        async with st.as_user(kessa.user_id) as conn:
            await st.insert_liquid(
                conn, frame_id=cantina.frame_id, character_id=dax.id, user_id=kessa.user_id,
                content="I make Dax leave", refined_text=None, pscale=-2, timer_duration=5,
                interruptive=False, interrupt_targets=[], soft_source="given", soft_note=None, now=NOW)
    assert "row-level security" in str(err.value)
    async with st.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM liquid") == 0
    # ...while her own character works
    async with st.as_user(kessa.user_id) as conn:
        await st.insert_liquid(
            conn, frame_id=cantina.frame_id, character_id=kessa.id, user_id=kessa.user_id,
            content="I watch the door", refined_text=None, pscale=-1, timer_duration=15,
            interruptive=False, interrupt_targets=[], soft_source="given", soft_note=None, now=NOW)


async def test_non_member_sees_no_outcomes_member_and_gm_do(
        st: store.Store, cantina: scenario.Installed) -> None:
    await seed_solids(st, cantina)
    other = await scenario.install(st, scenario.load_scenario_file(scenario.MOS_EISLEY))
    outsider = by_name(other, "Kessa Vorn").user_id
    assert outsider
    async with st.as_user(outsider) as conn:
        assert await conn.conn.fetchval("SELECT count(*) FROM outcomes WHERE frame_id = $1",
                                   cantina.frame_id) == 0
        assert await conn.conn.fetchval("SELECT count(*) FROM frames WHERE id = $1", cantina.frame_id) == 0
    tobin = by_name(cantina, "Tobin Reez").user_id
    assert tobin
    async with st.as_user(tobin) as conn:
        assert await conn.conn.fetchval("SELECT count(*) FROM outcomes") == 2
        assert await conn.conn.fetchval("SELECT count(*) FROM solid") == 0
    async with st.as_user(cantina.gm_user_id) as conn:
        assert await conn.conn.fetchval("SELECT count(*) FROM outcomes") == 2
        assert await conn.conn.fetchval("SELECT count(*) FROM liquid") == 2
        assert await conn.conn.fetchval("SELECT count(*) FROM windows") == 2


async def test_players_cannot_read_internal_truths_or_hidden_memberships(
        st: store.Store, cantina: scenario.Installed) -> None:
    dax = by_name(cantina, "Dax Orrun").user_id
    assert dax
    with pytest.raises(MediumError):
        async with st.as_user(dax) as conn:
            await conn.conn.fetch("SELECT internal FROM characters")
    async with st.as_user(dax) as conn:
        names = await conn.conn.fetch(
            "SELECT c.name FROM memberships m JOIN characters c ON c.id = m.character_id")
    assert sorted(r["name"] for r in names) == ["Dax Orrun", "Sergeant Vell"]


async def test_commit_as_other_user_is_refused(st: store.Store, cantina: scenario.Installed) -> None:
    kessa, dax = by_name(cantina, "Kessa Vorn"), by_name(cantina, "Dax Orrun")
    assert kessa.user_id
    assert dax.user_id
    async with st.as_user(kessa.user_id) as conn:
        liq = await st.insert_liquid(
            conn, frame_id=cantina.frame_id, character_id=kessa.id, user_id=kessa.user_id,
            content="I watch the door", refined_text=None, pscale=-1, timer_duration=15,
            interruptive=False, interrupt_targets=[], soft_source="given", soft_note=None, now=NOW)
    assert liq is not None
    with pytest.raises(MediumError):
        async with st.as_user(dax.user_id) as conn:
            await st.commit_liquid(conn, cantina.frame_id, liq.id, NOW)
    async with st.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM windows") == 0
