"""NPC actors against a real Postgres, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from synthesis import scenario, store
from synthesis.clock import FakeClock
from tests.integration.helpers import scripted_registry
from workers.actors import Actors, parse_action


async def cantina(st: store.Store, *, always: bool, budget: int = 120) -> scenario.Installed:
    sc = scenario.load_scenario_file(scenario.MOS_EISLEY)
    sc = sc.model_copy(update={"actor_budget_per_hour": budget})
    return await scenario.install(st, sc, actors_always=always)


async def npc_liquid(st: store.Store) -> list:  # type: ignore[type-arg]
    async with st.pool.acquire() as conn:
        return await conn.fetch("SELECT l.*, c.actions FROM liquid l JOIN characters c "
                                "ON c.id = l.character_id WHERE l.user_id IS NULL")


async def test_idle_npcs_act_from_their_actions_once_per_window(st: store.Store, db_url: str) -> None:
    clock = FakeClock(datetime.now(UTC))
    await cantina(st, always=True)
    actors = Actors(st, scripted_registry(), dsn=db_url, clock=clock, time_scale=0.01)
    assert await actors.pass_once() == 0  # nobody idle long enough yet
    clock.advance(1.0)  # idle 60 s × 0.01
    assert await actors.pass_once() == 2  # Gorrak and Sergeant Vell
    rows = await npc_liquid(st)
    assert len(rows) == 2
    for r in rows:
        assert r["status"] == "committed"
        assert r["content"] in [a["text"] for a in r["actions"]]
    clock.advance(5.0)
    assert await actors.pass_once() == 0  # both have open windows now


async def test_budget_and_presence(st: store.Store, db_url: str) -> None:
    clock = FakeClock(datetime.now(UTC))
    await cantina(st, always=True, budget=1)
    actors = Actors(st, scripted_registry(), dsn=db_url, clock=clock, time_scale=0.01)
    clock.advance(1.0)
    assert await actors.pass_once() == 1  # the frame's budget is one action per game hour
    inst = await cantina(st, always=False)
    clock.advance(100.0)
    before = len(await npc_liquid(st))
    await actors.pass_once()
    after = await npc_liquid(st)
    assert not [r for r in after if r["frame_id"] == inst.frame_id]  # no human connected: paused
    await st.set_presence(inst.frame_id, inst.characters[0].user_id, "gw", 1, clock.now())
    await actors.pass_once()
    assert len([r for r in await npc_liquid(st) if r["frame_id"] == inst.frame_id]) == 2
    assert before >= 1
    _ = timedelta


@pytest.mark.parametrize(("text", "error"), [
    ("nope", "not a JSON object"),
    ('{"text": "", "pscale": 1}', "text must be"),
    ('{"text": "I wait", "pscale": 9}', "pscale 9"),
    ('{"text": "I wait", "pscale": true}', "pscale True"),
    ('{"text": "I wait"', "not JSON"),
])
def test_parse_action_rejects_bad_output(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_action(text)


def test_parse_action_accepts_good_output() -> None:
    assert parse_action('Sure: {"text": " I wait ", "pscale": -1}') == ("I wait", -1)
