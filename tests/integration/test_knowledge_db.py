"""The knowledge boundary through the real database: random-ish frames installed from scenario
documents, solids written by real syntheses, then every character's preview directive (and the
directive stored with each of its solids) checked against tests/boundary.py."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

import pytest

from synthesis import compile as compile_
from synthesis import medium, store
from synthesis.clock import FakeClock
from synthesis.types import Affiliation, Character, Membership
from tests.boundary import assert_boundary
from tests.integration.helpers import Cast, commit, make_frame, scripted_registry

NAMES = ["Ayla Stone", "Bram Hollis", "Corwin Vale", "Delia Rook", "Emrys Thane"]
ACTIONS = ["I study the map on the wall", "I count the coins in my purse", "I listen at the door",
           "I sharpen my knife", "I read the notice board"]


def random_frame(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    n_chars, n_affs = rng.randint(3, 5), rng.randint(1, 3)
    affs = [{"name": f"Lodge {j} S{seed}", "universal": f"UNI-A{j}-S{seed}",
             "internal": f"INT-A{j}-S{seed}", "external": f"EXT-A{j}-S{seed}"} for j in range(n_affs)]
    chars: list[dict[str, Any]] = []
    for i in range(n_chars):
        member: list[dict[str, Any]] = []
        for j, a in enumerate(affs):
            if j == 0:  # the interesting case: reached only through one hidden membership
                if i == 1:
                    member.append({"name": a["name"], "hidden": True})
            elif rng.random() < 0.6:
                member.append({"name": a["name"], "hidden": rng.random() < 0.5})
        chars.append({"name": NAMES[i], "player": f"p{i}" if i or rng.random() < 0.5 else None,
                      "universal": f"UNI-C{i}-S{seed}", "internal": f"INT-C{i}-S{seed}",
                      "external": f"EXT-C{i}-S{seed}", "affiliations": member})
    return {"name": f"Boundary {seed}", "mode": "personal", "world": f"WORLD-S{seed}",
            "scenario": f"SCENARIO-S{seed}", "affiliations": affs, "characters": chars}


async def synthesize_due(st: store.Store, reg: Any, cast: Cast, now: Any) -> int:
    n = 0
    for w in await st.claim_due_windows(now, limit=50, worker_id="test", lease_seconds=30):
        await medium.synthesize(st, reg, cast.frame_id, w.id, now=now)
        n += 1
    return n


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_directives_from_the_database_keep_the_boundary(st: store.Store, seed: int) -> None:
    clock = FakeClock()
    reg = scripted_registry()
    cast = await make_frame(st, random_frame(seed))
    names = list(cast.ids)
    # Two rounds of actions so each character has solids and the others' outcomes.
    for rnd in range(2):
        for i, name in enumerate(names):
            await commit(st, cast, name, f"{ACTIONS[(i + rnd) % len(ACTIONS)]} (round {rnd})", -2, clock.now())
            clock.advance(0.5)
        clock.advance(6)
        while await synthesize_due(st, reg, cast, clock.now()):
            clock.advance(6)

    solids: dict[UUID, list[str]] = {}
    for s in await st.solids(cast.frame_id):
        solids.setdefault(s.character_id, []).append(s.narrative)
    assert set(solids) == set(cast.ids.values()), "every character has narratives"

    for name, cid in cast.ids.items():
        preview = await medium.preview(st, reg, cast.frame_id, cid)
        inp, doc = await medium.prepare(st, cast.frame_id, None, character_id=cid)
        chars = [Character.model_validate(c) for c in doc["characters"]]
        affs = [Affiliation.model_validate(a) for a in doc["affiliations"]]
        members = [Membership.model_validate(m) for m in doc["memberships"]]
        as_json = compile_.directive_text(compile_.compile_directive(inp, json_mode=True))
        for label, text in (("preview", preview), ("json preview", as_json)):
            assert_boundary(text, cid, chars, affs, members, solids=solids, label=label)
            # Its own latest narrative is there (continuity), so the others' absence is real.
            assert compile_.brief(solids[cid][-1]) in text
        for s in await st.character_solid(cast.frame_id, cid):
            assert_boundary(s.directive, cid, chars, affs, members, solids=solids,
                            label=f"stored (solid #{s.seq})")
            assert s.user_id == cast.users[name]
