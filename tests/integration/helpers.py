"""Helpers for integration tests: a tiny cast built straight through the store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis import liquid, route, scenario, store
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from synthesis.types import ActionOutcome, MediumOutput, ResolvedAction


@dataclass
class Cast:
    frame_id: UUID
    gm: UUID
    ids: dict[str, UUID]  # name -> character id
    users: dict[str, UUID | None]


async def make_frame(st: store.Store, spec: dict[str, Any]) -> Cast:
    sc = scenario.parse_scenario(spec)
    inst = await scenario.install(st, sc)
    return Cast(inst.frame_id, inst.gm_user_id, {c.name: c.id for c in inst.characters},
                {c.name: c.user_id for c in inst.characters})


def three_players(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Reference", "mode": "personal", "world": "A small room.", "scenario": "Tense.",
        "affiliations": [{"name": "Guild", "universal": "A guild.", "internal": "GUILD-SECRET",
                          "external": "Guild rep."}],
        "characters": [
            {"name": "Alda", "player": "a", "universal": "A fighter.", "internal": "ALDA-SECRET",
             "external": "Tall and scarred.", "affiliations": [{"name": "Guild", "hidden": True}]},
            {"name": "Brix", "player": "b", "universal": "A guard.", "internal": "BRIX-SECRET",
             "external": "Stocky, wary."},
            {"name": "Cato", "player": "c", "universal": "A thief.", "internal": "CATO-SECRET",
             "external": "Quick hands, quiet feet."},
        ],
        **extra,
    }


def scripted_registry(**overrides: Any) -> Registry:
    return Registry(Settings(MEDIUM_LLM="scripted", **overrides))


async def commit(st: store.Store, cast: Cast, name: str, text: str, pscale: int, now: datetime,
                 *, time_scale: float = 1.0) -> liquid.Submission:
    return await liquid.submit(st, None, frame_id=cast.frame_id, character_id=cast.ids[name],
                               content=text, now=now, user_id=cast.users[name], commit=True,
                               pscale=pscale, time_scale=time_scale)


def uid() -> UUID:
    return uuid.uuid4()


async def route_output(st: store.Store, frame_id: UUID, window_id: UUID, character_id: UUID,
                       narrative: str, now: datetime, *, action: str | None = None,
                       facts: list[str] | None = None) -> dict[str, Any]:
    """Route a hand-written Medium output through ``route.plan`` and ``medium_apply_v2``."""
    outcome = None
    if action is not None:
        outcome = ActionOutcome(
            actions_resolved=[ResolvedAction(character_id=character_id, action=action, result="success")],
            world_facts=facts or [], characters_involved=[character_id])
    result = route.MediumResult(output=MediumOutput(outcome=outcome, narrative=narrative), narrator="test")
    plan = await st.route(frame_id, window_id, [character_id], lambda snap: route.plan(snap, result, now))
    return plan.summary()
