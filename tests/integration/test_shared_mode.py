"""Shared mode is one Medium (issue 12, item 4): the real worker, synthesis and API paths on a
real Postgres, with an injected clock. Three characters commit within the frame's window; one
narrator call resolves them all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from synthesis import compile as compile_
from synthesis import store
from synthesis.clock import FakeClock
from synthesis.llm import wrappers
from synthesis.llm.base import Completion, Message
from synthesis.llm.registry import Registry
from synthesis.llm.scripted import ScriptedLLM
from tests.integration.api_support import bearer, running_api
from tests.integration.helpers import commit, make_frame, scripted_registry, three_players
from workers.worker import Worker


class CountingNarrator:
    """The scripted narrator, counting its calls and keeping every prompt it was sent."""

    provider = "scripted"

    def __init__(self) -> None:
        self.inner = ScriptedLLM(seed=5)
        self.prompts: list[str] = []

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        self.prompts.append(compile_.directive_text(list(messages)))
        return await self.inner.complete(messages, model=model, json_schema=json_schema,
                                         max_tokens=max_tokens, temperature=temperature)


def counting_registry() -> tuple[Registry, CountingNarrator]:
    narrator = CountingNarrator()
    reg = scripted_registry()
    reg.providers["scripted"] = wrappers.wrap(narrator, timeout=5, concurrency=4, attempts=1)
    return reg, narrator


async def drain(st: store.Store, reg: Registry, db_url: str, clock: FakeClock) -> Worker:
    w = Worker(st, reg, dsn=db_url, clock=clock, burst=True, listen=False, live=False)
    await w.run()
    return w


async def test_three_commits_in_a_shared_frame_are_one_medium_one_outcome_one_solid(db_url: str) -> None:
    clock = FakeClock(autojump=False)
    async with running_api(db_url) as api:
        st = api.st
        cast = await make_frame(st, three_players(perceive=False))
        players = {n: u for n, u in cast.users.items() if u is not None}

        # Personal mode first: Alda's player reads a narrative of her own.
        await commit(st, cast, "Alda", "I slip the ledger into my coat", -2, clock.now())
        clock.advance(5)
        reg, narrator = counting_registry()
        await drain(st, reg, db_url, clock)
        [personal] = await st.solids(cast.frame_id)
        assert personal.character_id == cast.ids["Alda"]
        assert personal.participant_user_ids == []

        r = await api.client.patch(f"/frames/{cast.frame_id}", json={"mode": "shared"}, headers=bearer(cast.gm))
        assert r.status_code == 200
        assert r.json()["mode"] == "shared"

        # Three commits within the frame's window: one window holds them all.
        t0 = clock.now()
        subs = [await commit(st, cast, "Alda", "I draw my blade", -2, t0),
                await commit(st, cast, "Brix", "I bar the door", -2, t0 + timedelta(seconds=2)),
                await commit(st, cast, "Cato", "I search the drawers", -1, t0 + timedelta(seconds=3))]
        window_ids = {s.liquid.window_id for s in subs}
        assert len(window_ids) == 1
        [wid] = window_ids
        assert {s.liquid.timer_expires_at for s in subs} == {t0 + timedelta(seconds=5)}
        [open_w] = await st.open_windows(cast.frame_id)
        assert (open_w.id, open_w.scope, open_w.character_id) == (wid, "frame", cast.ids["Alda"])
        # The frame window's timer reaches every member, not only Alda, who opened it.
        timers = [e for e in await st.events_since(cast.frame_id, 0) if e.type == "timer" and e.ref_id == wid]
        assert [e.audience for e in timers] == [None]
        # The GM's directive preview for a joiner is the shared window's, holding every joined action.
        for name in players:
            r = await api.client.get(f"/frames/{cast.frame_id}/characters/{cast.ids[name]}/directive",
                                     headers=bearer(cast.gm))
            assert r.status_code == 200, r.text
            for action in ("I draw my blade", "I bar the door", "I search the drawers"):
                assert action in r.json()["directive"], (name, action)

        clock.set(t0 + timedelta(seconds=5))
        reg, narrator = counting_registry()
        worker = await drain(st, reg, db_url, clock)
        assert worker.stats.done == 1
        assert len(narrator.prompts) == 1, "one synthesis call for the whole frame"

        outcomes = await st.outcomes(cast.frame_id)
        assert len(outcomes) == 2  # the personal one before the switch, and the shared one
        shared_outcome = outcomes[-1]
        assert shared_outcome.window_id == wid
        assert {a["character_id"] for a in shared_outcome.actions_resolved} == {str(cast.ids[n]) for n in players}
        solids = await st.solids(cast.frame_id)
        assert len(solids) == 2
        shared = solids[-1]
        assert shared.window_id == wid
        assert set(shared.participant_user_ids) == set(players.values())
        assert shared_outcome.id in shared.outcome_ids
        assert set(shared.source_liquid_ids) == {s.liquid.id for s in subs}
        for s in subs:
            done = await st.find_liquid(s.liquid.id)
            assert done
            assert done.status == "resolved"

        # Every player reads that one narrative through the API; only Alda her personal one.
        for name, user in players.items():
            r = await api.client.get(f"/frames/{cast.frame_id}/solid", headers=bearer(user))
            assert r.status_code == 200, r.text
            ids = [row["id"] for row in r.json()]
            assert ids == ([str(personal.id)] if name == "Alda" else []) + [str(shared.id)]

        # The personal narrative written before the switch never reached the shared prompt.
        [prompt] = narrator.prompts
        assert compile_.SHARED_ACTIONS in prompt
        assert "NARRATING FOR" in prompt
        assert personal.narrative not in prompt
        assert compile_.brief(personal.narrative) not in prompt
        assert compile_.brief(personal.narrative) not in shared.directive
        for secret in ("ALDA-SECRET", "BRIX-SECRET", "CATO-SECRET", "GUILD-SECRET"):
            assert secret not in prompt
