"""Synthesis against a real Postgres with an injected clock: interrupts, parse failures,
idempotent routing, shared mode, the soft fallback, perceive windows, stalled actions and
causality."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from synthesis import compile as compile_
from synthesis import liquid, medium, scenario, store
from synthesis.clock import FakeClock
from synthesis.errors import LLMError, MediumError, ParseError
from synthesis.llm import wrappers
from synthesis.llm.base import Completion, Message, Usage
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from synthesis.types import Window
from tests.integration.api_support import bearer, running_api
from tests.integration.helpers import Cast, commit, make_frame, scripted_registry, three_players

LEASE = 10_000.0


async def claim(st: store.Store, now: datetime) -> list[Window]:
    return await st.claim_due_windows(now, limit=50, worker_id="test", lease_seconds=LEASE)


async def count(st: store.Store, table: str) -> int:
    async with st.pool.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))


async def windows_of(st: store.Store, frame_id: UUID, character_id: UUID) -> list[Window]:
    async with st.pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM windows WHERE frame_id = $1 AND character_id = $2 ORDER BY seq",
                                frame_id, character_id)
    return [Window.model_validate(dict(r)) for r in rows]


def by_name(inst: scenario.Installed, name: str) -> scenario.InstalledCharacter:
    return next(c for c in inst.characters if c.name == name)


# --- interrupt -------------------------------------------------------------------------------


async def test_interruptive_action_cancels_the_targets_window_and_wakes_it(st: store.Store) -> None:
    clock = FakeClock()
    reg = scripted_registry()
    inst = await scenario.install(st, scenario.load_scenario_file(scenario.MOS_EISLEY))
    kessa, dax = by_name(inst, "Kessa Vorn"), by_name(inst, "Dax Orrun")
    t0 = clock.now()
    d = await liquid.submit(st, None, frame_id=inst.frame_id, character_id=dax.id,
                            content="I lean on the bar and study every face in the room", now=t0,
                            user_id=dax.user_id, commit=True, pscale=-1)
    assert d.liquid.timer_expires_at == t0 + timedelta(seconds=15)
    clock.advance(1)
    k = await liquid.submit(st, None, frame_id=inst.frame_id, character_id=kessa.id,
                            content="I draw my blaster and aim it at Dax", now=clock.now(),
                            user_id=kessa.user_id, commit=True)
    # A classifier rule decides it (a fast verb), no model is asked, and it says so.
    assert k.liquid.soft_source == "classifier"
    assert k.liquid.soft_note == "decided by a classifier rule"
    assert k.liquid.interruptive
    assert k.liquid.interrupt_targets == [dax.id]
    assert k.liquid.pscale == -3
    assert k.liquid.timer_expires_at == clock.now() + timedelta(seconds=4)

    clock.set(k.liquid.timer_expires_at)
    claimed = await claim(st, clock.now())
    assert [w.character_id for w in claimed] == [kessa.id]
    res = await medium.synthesize(st, reg, inst.frame_id, claimed[0].id, now=clock.now())
    assert res.routed
    assert res.outcome_id

    old = await st.get_window(inst.frame_id, d.liquid.window_id)  # type: ignore[arg-type]
    assert old
    assert old.status == "cancelled"
    assert old.cancel_reason == "interrupted"
    [outcome] = await st.outcomes(inst.frame_id)
    assert [i["target_character_id"] for i in outcome.interrupts] == [str(dax.id)]
    live = [w for w in await windows_of(st, inst.frame_id, dax.id) if w.status == "open"]
    assert len(live) == 1
    new = live[0]
    assert (new.trigger_mode, new.due_at, new.interrupt_source_id) == ("interrupt", clock.now(), kessa.id)
    assert res.route["interrupted"] == [{"character_id": str(dax.id), "window_id": str(new.id),
                                         "cancelled_window_id": str(old.id)}]
    moved = await st.find_liquid(d.liquid.id)
    assert moved
    assert moved.status == "committed"
    assert moved.window_id == new.id

    # Due at once: the very same tick claims it.
    claimed = await claim(st, clock.now())
    assert [w.id for w in claimed] == [new.id]
    res = await medium.synthesize(st, reg, inst.frame_id, new.id, now=clock.now())
    assert res.input
    assert res.input.trigger_mode == "interrupt"
    assert res.input.interrupt_source == kessa.handle
    assert f"WAKE: interrupt by [{kessa.handle}]" in res.directive
    [solid] = await st.character_solid(inst.frame_id, dax.id)
    assert solid.trigger_mode == "interrupt"
    assert solid.source_liquid_ids == [d.liquid.id]
    assert outcome.id in solid.outcome_ids
    assert res.outcome_id in solid.outcome_ids
    done = await st.find_liquid(d.liquid.id)
    assert done
    assert done.status == "resolved"


# --- parse failure writes nothing ------------------------------------------------------------


async def test_failed_synthesis_writes_nothing_and_the_window_stays_claimed(st: store.Store) -> None:
    clock = FakeClock()
    cast = await make_frame(st, three_players())
    a = await commit(st, cast, "Alda", "I attack", -2, clock.now())
    events_before = await count(st, "events")
    clock.advance(5)
    [w] = await claim(st, clock.now())
    broken = scripted_registry(MEDIUM_LLM_FAIL_RATE=1.0)
    raised: list[type[MediumError]] = []
    while ParseError not in raised and len(raised) < 40:
        with pytest.raises(MediumError) as err:
            await medium.synthesize(st, broken, cast.frame_id, w.id, now=clock.now())
        assert isinstance(err.value, ParseError | LLMError)
        raised.append(type(err.value))
    # Malformed output (still invalid after its one repair call) is among the failures, not only
    # injected transport errors; every attempt raised, and none wrote anything.
    assert ParseError in raised
    assert await count(st, "outcomes") == 0
    assert await count(st, "solid") == 0
    assert await count(st, "events") == events_before
    after = await st.get_window(cast.frame_id, w.id)
    assert after
    assert after.status == "claimed"
    assert after.attempts == 1
    assert after.completed_at is None
    liq = await st.find_liquid(a.liquid.id)
    assert liq
    assert liq.status == "committed"
    assert liq.window_id == w.id
    # Nothing is lost: the same window synthesizes once the model behaves.
    res = await medium.synthesize(st, scripted_registry(), cast.frame_id, w.id, now=clock.now())
    assert res.routed
    assert (await count(st, "outcomes"), await count(st, "solid")) == (1, 1)


# --- idempotency -----------------------------------------------------------------------------


async def test_routing_the_same_window_twice_writes_once(st: store.Store) -> None:
    clock = FakeClock()
    reg = scripted_registry()
    cast = await make_frame(st, three_players(perceive=False))
    await commit(st, cast, "Alda", "I attack", -2, clock.now())
    clock.advance(5)
    [w] = await claim(st, clock.now())
    inp, _doc = await medium.prepare(st, cast.frame_id, w.id)
    llm, model, label = reg.medium()
    messages = compile_.compile_directive(inp)
    out, _, usage = await medium.complete_and_parse(llm, model, messages, inp, json_mode=False)
    result = medium.medium_result(inp, out, directive=compile_.directive_text(messages), model=model,
                                  narrator=label, usage=usage)
    first = (await medium.apply(st, inp, result, now=clock.now())).summary()
    events = await count(st, "events")
    second = (await medium.apply(st, inp, result, now=clock.now())).summary()
    assert first["routed"] is True
    assert second["routed"] is False
    assert (second["outcome_id"], second["solid_id"]) == (first["outcome_id"], first["solid_id"])
    assert (await count(st, "outcomes"), await count(st, "solid")) == (1, 1)
    assert await count(st, "events") == events

    # The whole synthesis run twice on one window (a duplicated worker) writes once as well.
    await commit(st, cast, "Brix", "I defend", -2, clock.now())
    clock.advance(5)
    [w2] = await claim(st, clock.now())
    r1 = await medium.synthesize(st, reg, cast.frame_id, w2.id, now=clock.now())
    r2 = await medium.synthesize(st, reg, cast.frame_id, w2.id, now=clock.now())
    assert r1.routed
    assert not r2.routed
    assert (r2.outcome_id, r2.solid_id) == (r1.outcome_id, r1.solid_id)
    assert (await count(st, "outcomes"), await count(st, "solid")) == (2, 2)
    async with st.pool.acquire() as conn:
        per_window = await conn.fetch("SELECT window_id, count(*) AS n FROM solid GROUP BY window_id")
    assert sorted(r["n"] for r in per_window) == [1, 1]


async def test_a_submit_retried_with_its_client_key_is_one_action(st: store.Store) -> None:
    clock = FakeClock()
    cast = await make_frame(st, three_players(perceive=False))

    async def send(text: str, *, on: store.Store = st) -> liquid.Submission:
        return await liquid.submit(on, None, frame_id=cast.frame_id, character_id=cast.ids["Alda"],
                                   content=text, now=clock.now(), user_id=cast.users["Alda"],
                                   commit=True, pscale=-2, client_key="k-1")

    first = await send("I attack")
    again = await send("I attack")
    assert not first.replayed
    assert again.replayed
    assert again.liquid.id == first.liquid.id
    assert again.analysis.pscale == -2
    assert again.liquid.status == "committed"
    with pytest.raises(MediumError, match="different action") as err:
        await send("I flee")
    assert err.value.field == "client_key"
    with pytest.raises(MediumError, match="client_key must be") as err:
        await liquid.submit(st, None, frame_id=cast.frame_id, character_id=cast.ids["Alda"],
                            content="I wait", now=clock.now(), client_key="x" * 129)

    class Racing(store.Store):
        """The retry's lookup runs before the first request commits; its insert then conflicts."""

        async def find_liquid_by_key(self, *a: Any, **kw: Any) -> Any:
            self.looked = getattr(self, "looked", 0) + 1
            return None if self.looked == 1 else await super().find_liquid_by_key(*a, **kw)

    raced = await send("I attack", on=Racing(st.pool))
    assert raced.replayed
    assert raced.liquid.id == first.liquid.id
    assert await count(st, "liquid") == 1
    assert await count(st, "windows") == 1


async def test_a_draft_is_announced_by_the_transaction_that_inserts_it(st: store.Store) -> None:
    clock = FakeClock()
    cast = await make_frame(st, three_players(perceive=False))
    async with st.pool.acquire() as conn:
        seq = await conn.fetchval("SELECT event_seq FROM frames WHERE id = $1", cast.frame_id)
    draft = await liquid.submit(st, None, frame_id=cast.frame_id, character_id=cast.ids["Alda"],
                                content="I eye the door", now=clock.now(), user_id=cast.users["Alda"],
                                pscale=-1)
    async with st.pool.acquire() as conn:
        rows = await conn.fetch("SELECT seq, type, ref_id, audience FROM events WHERE frame_id = $1 "
                                "AND seq > $2 ORDER BY seq", cast.frame_id, seq)
    assert [(r["seq"], r["type"], r["ref_id"], r["audience"]) for r in rows] \
        == [(seq + 1, "liquid", draft.liquid.id, [cast.users["Alda"]])]


# --- shared mode -----------------------------------------------------------------------------


async def test_shared_mode_frame_window_is_read_by_every_participant(st: store.Store) -> None:
    clock = FakeClock()
    reg = scripted_registry()
    cast = await make_frame(st, three_players(mode="shared"))
    t0 = clock.now()
    a = await commit(st, cast, "Alda", "I attack", -2, t0)
    # The first commit opens the frame's window, due after its own timer (5 s at pscale -2).
    assert a.liquid.timer_expires_at == t0 + timedelta(seconds=5)
    window = await st.get_window(cast.frame_id, a.liquid.window_id)  # type: ignore[arg-type]
    assert window
    assert (window.trigger_mode, window.scope) == ("commit", "frame")
    assert window.due_at == t0 + timedelta(seconds=5)
    assert await claim(st, t0) == []
    clock.set(window.due_at)
    [w] = await claim(st, clock.now())
    assert w.id == window.id

    # A commit while that window is in flight opens the next frame window, which no worker may
    # claim before the first is routed: one shared Medium in flight per frame.
    b = await commit(st, cast, "Brix", "I block the door", -2, clock.now())
    assert b.liquid.window_id != window.id
    clock.advance(5)
    assert await claim(st, clock.now()) == []
    assert await st.next_due() == w.lease_expires_at  # not Brix's window: no busy loop

    res = await medium.synthesize(st, reg, cast.frame_id, w.id, now=clock.now())
    assert res.routed
    [solid] = await st.solids(cast.frame_id)
    players = {u for u in cast.users.values() if u is not None}
    assert len(players) == 3
    assert set(solid.participant_user_ids) == players
    assert solid.trigger_mode == "commit"
    # One narrative for everyone present: nobody's secret is in its prompt.
    for secret in ("ALDA-SECRET", "BRIX-SECRET", "CATO-SECRET", "GUILD-SECRET"):
        assert secret not in solid.directive
    for user in players:
        async with st.as_user(user) as conn:
            rows = await conn.conn.fetch("SELECT id FROM solid")
        assert [r["id"] for r in rows] == [solid.id]

    # Everyone read that shared narrative: the next shared Medium is not handed Alda's outcome
    # again as news, and the shared narrative is its recent narrative.
    [wb] = await claim(st, clock.now())
    assert wb.id == b.liquid.window_id
    inp, _ = await medium.prepare(st, cast.frame_id, wb.id)
    assert inp.resolved_outcomes == []
    assert inp.recent_narrative == [solid.narrative]


# --- soft fallback ---------------------------------------------------------------------------


async def test_soft_fallback_when_the_soft_model_is_unreachable(st: store.Store) -> None:
    clock = FakeClock()
    unreachable = Registry(Settings(MEDIUM_LLM="openai:gpt-4o-mini", OPENAI_BASE_URL="http://127.0.0.1:9/v1",
                                    MEDIUM_LLM_TIMEOUT=1, MEDIUM_SOFT_MODE="model"))
    cast = await make_frame(st, three_players(pscale_windows={-2: 8, -1: 30}))
    scale = 0.5
    failed = r"soft model failed \((timed out|\w+Error: .+)\)"
    cases = [  # (registry, who, text, pscale, window seconds, why the fallback ran)
        (unreachable, "Alda", 'I say "hold it right there"', -2, 8 * scale, failed),  # the frame's override
        (None, "Cato", "Perhaps later, then", -1, 30 * scale, "no soft model configured"),  # no rule decides
    ]
    try:
        for reg, name, text, pscale, seconds, why in cases:
            now = clock.now()
            sub = await liquid.submit(st, reg, frame_id=cast.frame_id, character_id=cast.ids[name],
                                      content=text, now=now, user_id=cast.users[name], commit=True,
                                      time_scale=scale)
            liq = sub.liquid
            assert liq.soft_source == "fallback"
            assert liq.soft_note, liq
            assert re.fullmatch(why, liq.soft_note), liq.soft_note
            assert (liq.pscale, liq.timer_duration) == (pscale, seconds)
            assert liq.status == "committed"
            assert liq.timer_expires_at == now + timedelta(seconds=seconds)
            stored = await st.find_liquid(liq.id)
            assert stored
            assert (stored.soft_source, stored.soft_note) == ("fallback", liq.soft_note)
            clock.advance(1)
    finally:
        await unreachable.aclose()


# --- perceive --------------------------------------------------------------------------------

_ME = re.compile(r"^YOU \[(?P<h>[a-z0-9_]+)\]", re.MULTILINE)
_ACT = re.compile(r'^- \[(?P<h>[a-z0-9_]+)\] [«"](?P<t>.*)[»"] \(pscale', re.MULTILINE)


class InvolvingLLM:
    """An LLM fake that answers the real compiled prompt in the text format, resolving the
    character's own actions and naming ``involve`` as affected."""

    provider = "scripted"

    def __init__(self, involve: Sequence[str] = ()) -> None:
        self.involve = list(involve)
        self.calls = 0  # varies the narrative: parse refuses one that repeats the previous

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        self.calls += 1
        user = messages[-1]["content"]
        me = _ME.search(user)
        assert me, "a personal directive names its character"
        section = user.split("YOUR ACTION", 1)[1].split("\n\n", 1)[0]
        mine = [m.group("t") for m in _ACT.finditer(section) if m.group("h") == me.group("h")]
        if not mine:
            return Completion(text=f"NARRATIVE\nYou take in what happened around you (beat {self.calls}).",
                              usage=Usage())
        lines = ["OUTCOME", "actions_resolved:", *(f"- {me.group('h')} | {t} | success" for t in mine),
                 "world_facts:", "interrupts:", "involved:", *(f"- {h}" for h in self.involve),
                 "NARRATIVE", f"You act (beat {self.calls})."]
        return Completion(text="\n".join(lines), usage=Usage())


def registry_with(llm: InvolvingLLM) -> Registry:
    reg = scripted_registry()
    reg.providers["scripted"] = wrappers.wrap(llm, timeout=5, concurrency=4, attempts=1)
    return reg


async def test_idle_involved_character_gets_one_coalesced_perceive_window(st: store.Store) -> None:
    clock = FakeClock()
    fake = InvolvingLLM(involve=["cato", "brix"])
    reg = registry_with(fake)
    cast = await make_frame(st, three_players(pscale_windows={-3: 2}))
    t0 = clock.now()
    await commit(st, cast, "Alda", "I attack", -2, t0)
    b = await commit(st, cast, "Brix", "I defend", -1, t0 + timedelta(seconds=1))

    clock.set(t0 + timedelta(seconds=5))
    [wa] = await claim(st, clock.now())
    ra = await medium.synthesize(st, reg, cast.frame_id, wa.id, now=clock.now())
    cato = await windows_of(st, cast.frame_id, cast.ids["Cato"])
    assert len(cato) == 1
    perceive = cato[0]
    assert (perceive.trigger_mode, perceive.status) == ("perceive", "open")
    assert perceive.due_at == clock.now() + timedelta(seconds=3)  # the frame rule perceive_seconds (default 3)
    assert ra.route["perceive"] == [{"character_id": str(cast.ids["Cato"]), "window_id": str(perceive.id)}]
    # Brix was involved too, but is not idle: his own window stays the only one.
    assert [w.id for w in await windows_of(st, cast.frame_id, cast.ids["Brix"])] == [b.liquid.window_id]

    # A second outcome involving Cato while his perceive window is open adds no window.
    fake.involve = ["cato"]
    await commit(st, cast, "Alda", "I strike again", -3, clock.now())
    clock.advance(2)  # Alda's -3 window (2 s here) closes before Cato's 3 s perceive window
    [wa2] = await claim(st, clock.now())
    ra2 = await medium.synthesize(st, reg, cast.frame_id, wa2.id, now=clock.now())
    assert ra2.route["perceive"] == []
    assert [w.id for w in await windows_of(st, cast.frame_id, cast.ids["Cato"])] == [perceive.id]

    clock.set(perceive.due_at)
    [wc] = await claim(st, clock.now())
    assert wc.id == perceive.id
    rc = await medium.synthesize(st, reg, cast.frame_id, wc.id, now=clock.now())
    assert rc.outcome_id is None, "a perceive window carries no action, so it writes no outcome"
    [solid] = await st.character_solid(cast.frame_id, cast.ids["Cato"])
    assert solid.trigger_mode == "perceive"
    assert {ra.outcome_id, ra2.outcome_id} <= set(solid.outcome_ids)


async def test_a_perceive_window_lasts_the_frame_setting_scaled_not_the_outcome_window(db_url: str) -> None:
    clock = FakeClock(autojump=False)
    async with running_api(db_url) as api:
        st = api.st
        cast = await make_frame(st, three_players())
        r = await api.client.patch(f"/frames/{cast.frame_id}", json={"perceive_seconds": 0}, headers=bearer(cast.gm))
        assert r.status_code == 422
        assert r.json()["error"]["field"] == "body.perceive_seconds"
        r = await api.client.patch(f"/frames/{cast.frame_id}", json={"perceive_seconds": 4}, headers=bearer(cast.gm))
        assert r.status_code == 200
        assert r.json()["perceive_seconds"] == 4
        scale = 0.25
        # A +1 action: a 300 s window (75 s here), whose outcome involves the idle Cato.
        a = await commit(st, cast, "Alda", "I spend the hour haggling", 1, clock.now(), time_scale=scale)
        assert a.liquid.timer_expires_at == clock.now() + timedelta(seconds=300 * scale)
        clock.set(a.liquid.timer_expires_at)  # type: ignore[arg-type]
        [w] = await claim(st, clock.now())
        res = await medium.synthesize(st, registry_with(InvolvingLLM(involve=["cato"])), cast.frame_id, w.id,
                                      now=clock.now(), time_scale=scale)
        [p] = res.route["perceive"]
        perceive = await st.get_window(cast.frame_id, p["window_id"])
        assert perceive
        assert perceive.trigger_mode == "perceive"
        assert perceive.due_at == clock.now() + timedelta(seconds=4 * scale)  # 1 s, not 75 s


# --- a failed window's action is stalled -----------------------------------------------------


async def test_a_failed_windows_action_reaches_other_mediums_as_stalled(st: store.Store) -> None:
    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players(perceive=False))
    a = await commit(st, cast, "Alda", "I kick the table over", -2, clock.now())
    clock.advance(5)
    [wa] = await claim(st, clock.now())
    await st.fail_window(cast.frame_id, wa.id, "ParseError: after one repair", clock.now())
    b = await commit(st, cast, "Brix", "I grab the lamp", -2, clock.now())
    c = await commit(st, cast, "Cato", "I hide behind the bar", -2, clock.now())
    inp, _ = await medium.prepare(st, cast.frame_id, b.liquid.window_id)  # type: ignore[arg-type]
    assert [(x.liquid_id, x.status) for x in inp.stalled_actions] == [(a.liquid.id, "stalled")]
    assert [x.liquid_id for x in inp.same_pscale_actions] == [c.liquid.id]  # still resolving together
    text = compile_.directive_text(compile_.compile_directive(inp))
    together = text.split("SAME-PSCALE ACTIONS (resolve together with yours)", 1)[1].split("\n\n", 1)[0]
    assert "kick the table" not in together
    assert "hide behind the bar" in together
    stalled = text.split(compile_.STALLED_TITLE, 1)[1].split("\n\n", 1)[0]
    assert "«I kick the table over» (pscale -2, stalled)" in stalled


# --- causality -------------------------------------------------------------------------------

BURST_ACTIONS = ["I look around", "I attack {t}", "I grab {t}", "I say \"not now\"", "I search the room",
                 "I wait by the door", "I shout a warning", "I drink slowly"]


def four_players() -> dict[str, Any]:
    spec = three_players()
    spec["characters"].append({"name": "Dara", "player": "d", "universal": "A scout.",
                               "internal": "DARA-SECRET", "external": "Dusty boots."})
    return spec


async def finish(st: store.Store, reg: Registry, inp: Any, doc: dict[str, Any], now: datetime) -> None:
    llm, model, label = reg.medium()
    messages = compile_.compile_directive(inp)
    out, _, usage = await medium.complete_and_parse(llm, model, messages, inp, json_mode=False)
    await medium.apply(st, inp, medium.medium_result(
        inp, out, directive=compile_.directive_text(messages), model=model, narrator=label, usage=usage),
        now=now)


async def burst(st: store.Store, cast: Cast, seed: int) -> None:
    """Random commits; due windows are gathered, then completed and routed in shuffled order,
    some only several ticks later, so other outcomes land between a gather and its route."""
    rng = random.Random(seed)
    clock = FakeClock()
    reg = scripted_registry()
    names = list(cast.ids)
    staged: list[tuple[Any, dict[str, Any]]] = []
    for step in range(40):
        if step < 28 and rng.random() < 0.7:
            name = rng.choice(names)
            text = rng.choice(BURST_ACTIONS).format(t=rng.choice([n for n in names if n != name]))
            await commit(st, cast, name, text, rng.choice([-3, -2, -2, -1]), clock.now())
        clock.advance(rng.uniform(0.5, 4))
        for w in await claim(st, clock.now()):
            staged.append(await medium.prepare(st, cast.frame_id, w.id))
        rng.shuffle(staged)
        keep = [x for x in staged if rng.random() < 0.3] if step < 36 else []
        for inp, doc in staged:
            if not any(inp is k[0] for k in keep):
                await finish(st, reg, inp, doc, clock.now())
        staged = keep
    while True:  # drain
        clock.advance(60)
        due = await claim(st, clock.now())
        if not due and not staged:
            break
        staged += [await medium.prepare(st, cast.frame_id, w.id) for w in due]
        for inp, doc in staged:
            await finish(st, reg, inp, doc, clock.now())
        staged = []


@pytest.mark.parametrize("seed", [11, 12])
async def test_every_solid_incorporates_every_outcome_of_its_snapshot(st: store.Store, seed: int) -> None:
    cast = await make_frame(st, four_players())
    await burst(st, cast, seed)
    outcomes = {o.id: o for o in await st.outcomes(cast.frame_id)}
    solids = await st.solids(cast.frame_id)
    assert len(outcomes) >= 10
    assert len(solids) >= len(outcomes)
    assert any(s.trigger_mode == "interrupt" for s in solids)
    assert any(s.trigger_mode == "perceive" for s in solids)
    async with st.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM windows WHERE status IN ('open', 'claimed', 'failed')") == 0
    for name, cid in cast.ids.items():
        through = 0
        seen: set[UUID] = set()
        for s in (s for s in solids if s.character_id == cid):
            assert s.incorporated_through >= through, f"{name}: snapshots go backwards"
            # Its own window's outcomes were incorporated by the solid routed with them, though
            # their seq lies past that solid's snapshot.
            new = {o.id for o in outcomes.values() if through < o.seq <= s.incorporated_through} - seen
            missing = new - set(s.outcome_ids)
            assert not missing, (f"{name}'s solid #{s.seq} (through {s.incorporated_through}) misses outcomes "
                                 f"{sorted(outcomes[m].seq for m in missing)}")
            for oid in s.outcome_ids:
                o = outcomes[oid]
                # Nothing from after its snapshot, except the outcome its own window wrote.
                assert o.seq <= s.incorporated_through or o.window_id == s.window_id
                assert oid not in seen, f"{name}'s solid #{s.seq} re-incorporates outcome #{o.seq}"
                seen.add(oid)
            through = s.incorporated_through
        # Whatever it has not incorporated came after its last snapshot (it was not woken since).
        assert all(o.seq > through for o in outcomes.values() if o.id not in seen)


async def test_a_characters_own_outcome_is_not_presented_to_it_again(st: store.Store) -> None:
    clock = FakeClock()
    reg = scripted_registry()
    cast = await make_frame(st, three_players(perceive=False))
    await commit(st, cast, "Alda", "I attack", -2, clock.now())
    clock.advance(5)
    [w1] = await claim(st, clock.now())
    r1 = await medium.synthesize(st, reg, cast.frame_id, w1.id, now=clock.now())
    await commit(st, cast, "Brix", "I defend", -2, clock.now())
    await commit(st, cast, "Alda", "I attack again", -2, clock.now())
    clock.advance(5)
    by_char = {w.character_id: w for w in await claim(st, clock.now())}
    rb = await medium.synthesize(st, reg, cast.frame_id, by_char[cast.ids["Brix"]].id, now=clock.now())
    r2 = await medium.synthesize(st, reg, cast.frame_id, by_char[cast.ids["Alda"]].id, now=clock.now())
    assert r2.input
    assert [o.outcome_id for o in r2.input.resolved_outcomes] == [rb.outcome_id]
    assert "I attack ->" not in r2.directive
    first, second = await st.character_solid(cast.frame_id, cast.ids["Alda"])
    assert first.outcome_ids == [r1.outcome_id]
    assert second.outcome_ids == [rb.outcome_id, r2.outcome_id]
