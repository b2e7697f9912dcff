"""The output guard on a real database: redactions are stored with the outcome, one action
gets one result when two Mediums resolve together, and ``outcome_mode: blind`` routes like
``guarded`` with a two-call directive."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import yaml

from synthesis import liquid, medium, scenario, store
from synthesis.clock import FakeClock
from synthesis.llm import wrappers
from synthesis.llm.base import Completion, Message, Usage
from synthesis.llm.registry import Registry
from tests.hostile import MOS_EISLEY, leaky_reply
from tests.integration.helpers import scripted_registry

LEASE = 30.0


class Fake:
    """A narrator answering every Medium prompt with ``reply(prompt)``; counts its calls."""

    provider = "scripted"

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.calls = 0

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        self.calls += 1
        return Completion(text=self.reply(messages[1]["content"]), usage=Usage(10, 10))


def registry_with(llm: Fake) -> Registry:
    reg = scripted_registry()
    reg.providers["scripted"] = wrappers.wrap(llm, timeout=10, concurrency=4, attempts=1)  # type: ignore[arg-type]
    return reg


def contradicting(prompt: str) -> str:
    """Resolves every action in the prompt: its own as success, every other one as failure."""
    me = re.search(r"^YOU \[([a-z_]+)\]", prompt, re.MULTILINE)
    assert me
    handles = dict.fromkeys(re.findall(r"^- \[([a-z_]+)\] «", prompt, re.MULTILINE))
    return "\n".join(["OUTCOME", "actions_resolved:",
                      *(f"- {h} | acts | {'success' if h == me.group(1) else 'failure'}" for h in handles),
                      "world_facts:", "interrupts:", "NARRATIVE", "You act."])


async def install(st: store.Store, **extra: Any) -> scenario.Installed:
    spec = yaml.safe_load(MOS_EISLEY.read_text())
    spec.update(perceive=False, **extra)
    return await scenario.install(st, scenario.parse_scenario(spec))


async def play(st: store.Store, inst: scenario.Installed, reg: Registry, names: Sequence[str]) -> list[Any]:
    clock = FakeClock()
    for name in names:
        c = next(x for x in inst.characters if x.name == name)
        await liquid.submit(st, None, frame_id=inst.frame_id, character_id=c.id, content=f"{name} waits",
                            now=clock.now(), user_id=c.user_id, commit=True, pscale=-2)
    clock.advance(10)
    claimed = await st.claim_due_windows(clock.now(), limit=50, worker_id="t", lease_seconds=LEASE)
    assert len(claimed) == len(names)
    return [await medium.synthesize(st, reg, inst.frame_id, w.id, now=clock.now()) for w in claimed]


async def test_two_mediums_one_action_one_result(st: store.Store) -> None:
    inst = await install(st)
    llm = Fake(contradicting)
    await play(st, inst, registry_with(llm), ["Kessa Vorn", "Dax Orrun"])
    outcomes = await st.outcomes(inst.frame_id)
    assert len(outcomes) == 2
    for o in outcomes:
        assert [a["character_id"] for a in o.actions_resolved] == [str(o.source_character_id)]
        assert [a["result"] for a in o.actions_resolved] == ["success"]
    # The first Medium saw the other's same-pscale action: context, listed as involved, not
    # resolved. The second saw the first's outcome instead of that action.
    first = min(outcomes, key=lambda o: o.seq)
    assert len(first.characters_involved) == 2
    assert llm.calls == 2  # dropping another character's entry needs no repair


async def test_redactions_are_stored_with_the_outcome(st: store.Store) -> None:
    inst = await install(st)
    llm = Fake(lambda prompt: leaky_reply(prompt, json_mode=False))
    results = await play(st, inst, registry_with(llm), ["Kessa Vorn"])
    [o] = await st.outcomes(inst.frame_id)
    assert o.redacted >= 3
    assert results[0].repaired
    assert llm.calls == 2
    text = json.dumps(o.model_dump(mode="json")).lower()
    assert "left boot" not in text
    assert "rebel cell" not in text
    [s] = await st.solids(inst.frame_id)
    assert "left boot" in s.narrative.lower()


async def test_blind_mode_routes_with_two_calls(st: store.Store) -> None:
    inst = await install(st, outcome_mode="blind")
    frame = await st.get_frame(inst.frame_id)
    assert frame is not None
    assert frame.outcome_mode == "blind"
    reg = scripted_registry()
    [res] = await play(st, inst, reg, ["Kessa Vorn"])
    assert res.routed
    assert res.outcome_id
    assert res.solid_id
    assert reg.scripted is not None
    assert reg.scripted.calls == 2
    [s] = await st.solids(inst.frame_id)
    adjudicate, narrate = s.directive.split("THE OUTCOME (already decided", 1)[0], s.directive
    assert "private (only you know)" not in adjudicate.split("### SYSTEM")[1]
    assert "private (only you know)" in narrate
    assert s.narrative


async def test_the_gm_sets_the_outcome_mode(db_url: str) -> None:
    from tests.integration.api_support import bearer, new_user, running_api

    gm, player = new_user(), new_user()
    async with running_api(db_url) as api:
        c = api.client
        r = await c.post("/frames", json={"name": "Cantina"}, headers=bearer(gm))
        assert r.status_code == 201
        assert r.json()["outcome_mode"] == "guarded"
        fid = r.json()["id"]
        await api.st.ensure_user(player)
        await c.post(f"/frames/{fid}/members", json={"user_id": str(player)}, headers=bearer(gm))
        r = await c.patch(f"/frames/{fid}", json={"outcome_mode": "blind"}, headers=bearer(player))
        assert r.status_code == 403
        r = await c.patch(f"/frames/{fid}", json={"outcome_mode": "loose"}, headers=bearer(gm))
        assert r.status_code == 422
        assert "outcome_mode" in r.text
        r = await c.patch(f"/frames/{fid}", json={"outcome_mode": "blind"}, headers=bearer(gm))
        assert r.status_code == 200
        assert r.json()["outcome_mode"] == "blind"
        r = await c.patch(f"/frames/{fid}", json={"perceive": False}, headers=bearer(gm))
        assert r.json()["outcome_mode"] == "blind"  # unchanged when not given
