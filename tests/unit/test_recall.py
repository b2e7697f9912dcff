"""Retrieval's decisions (synthesis/recall.py): only what the character witnessed, whatever the
query proposes; relevance weighed by recency; oldest first in the prompt; the prompt section."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import compile as compile_
from synthesis import gather, recall
from tests.unit.lore_docs import doc, outcome


def cand(kind: str, seq: int, rank: float, **item: Any) -> dict[str, Any]:
    return {"kind": kind, "id": str(uuid.UUID(int=1000 + seq)), "seq": seq, "rank": rank, "item": item}


def test_a_leaky_query_cannot_bring_in_what_the_character_did_not_witness() -> None:
    mine, theirs, seen, unseen = cand("narrative", 1, 0.5), cand("narrative", 2, 0.9), cand("outcome", 3, 0.4), \
        cand("outcome", 4, 0.9)
    got = recall.pick([mine, theirs, seen, unseen], own_solids={uuid.UUID(mine["id"])},
                      witnessed={uuid.UUID(seen["id"])}, shown=set(), latest=10)
    assert sorted(r.seq for r in got) == [1, 3]


def test_relevance_leads_and_recency_breaks_ties_best_first() -> None:
    items = [cand("outcome", s, r) for s, r in [(10, 0.1), (20, 0.5), (90, 0.5), (5, 0.9), (95, 0.05)]]
    ids = {uuid.UUID(c["id"]) for c in items}
    got = recall.pick(items, own_solids=set(), witnessed=ids, shown=set(), latest=100, limit=3)
    assert [r.seq for r in got] == [5, 90, 20]  # 0.9 (early!) beats all; 90 beats 20 only on recency
    assert got[1].score > got[2].score


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["narrative", "outcome"]), st.integers(1, 500), st.floats(0.01, 1),
                          st.booleans()), max_size=30, unique_by=lambda t: t[1]))
def test_every_recalled_item_is_the_characters_own(spec: list[tuple[str, int, float, bool]]) -> None:
    items = [cand(k, s, r) for k, s, r, _ in spec]
    own = {uuid.UUID(c["id"]) for c, (_, _, _, ok) in zip(items, spec, strict=True) if ok and c["kind"] == "narrative"}
    seen = {uuid.UUID(c["id"]) for c, (_, _, _, ok) in zip(items, spec, strict=True) if ok and c["kind"] == "outcome"}
    got = recall.pick(items, own_solids=own, witnessed=seen, shown=set(), latest=500)
    assert {r.id for r in got} <= own | seen
    assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
    assert len(got) <= recall.RECALL_ITEMS


def test_recalled_items_reach_the_prompt_in_their_own_section() -> None:
    d = doc("Kessa", action="I check the vaporator")
    early = outcome(3, "Kessa", "hid the datacard", ["RECALL-FACT the datacard is in the vaporator"])
    d["recalled"] = [{"kind": "outcome", "seq": 3, "item": early},
                     {"kind": "narrative", "seq": 5, "item": {"narrative": "RECALL-NARR You hid it well."}}]
    inp = gather.build_medium_input(d)
    text = compile_.directive_text(compile_.compile_directive(inp))
    section = text.split(recall.TITLE, 1)[1].split("\n\n", 1)[0]
    assert "RECALL-FACT" in section
    assert "RECALL-NARR" in section
    assert "[kessa]" in section
    d["frame"]["mode"] = "shared"
    assert recall.TITLE not in compile_.directive_text(compile_.compile_directive(gather.build_medium_input(d)))
