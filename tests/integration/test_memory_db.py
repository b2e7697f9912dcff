"""Memory summaries on a real Postgres (issue 16, item 1): versioned, append-only rows built only
from what the character witnessed, read by the GM, carried into the next prompt; a leaky
summarizer is stopped by the boundary before anything is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_

from synthesis import compile as compile_
from synthesis import medium, memory_run, store
from synthesis.llm.base import Completion
from tests.integration.api_support import bearer, cast_of, running_api
from tests.integration.helpers import Cast, commit, make_frame, scripted_registry
from tests.integration.history_support import UNSEEN, long_history

NOW = datetime(2026, 5, 1, tzinfo=UTC)
BRIX_SECRET = "Brix takes bribes from the smugglers at the east gate every night."
ALDA_SECRET = "Alda carries the guild ledger sewn into her cloak lining."
CELL_SECRET = "The cell keeps its weapons cache under the old chapel floor."


def spec() -> dict[str, Any]:
    return {"name": "Memory", "world": "A walled market town.", "scenario": "Market day.", "perceive": False,
            "affiliations": [{"name": "Cell", "universal": "A rumour.", "internal": CELL_SECRET}],
            "characters": [
                {"name": "Alda", "player": "a", "universal": "A merchant.", "internal": ALDA_SECRET,
                 "external": "Sharp-eyed."},
                {"name": "Brix", "player": "b", "universal": "A gate guard.", "internal": BRIX_SECRET,
                 "external": "Heavy-set.", "affiliations": [{"name": "Cell", "hidden": True}]}]}


ALDA_ACTS = ["I haggle over the price of salt", "I count the coins twice", "I watch a juggler by the well",
             "I buy a sack of dried figs", "I ask a weaver about the caravan from the south",
             "I sit on the fountain's rim and rest my feet"]
BRIX_ACTS = ["I check the carts at the gate", "I wave a farmer's wagon through", "I argue with a drover about tolls",
             "I lean on my spear and yawn", "I search a crate of suspicious turnips", "I close the side gate"]


async def play(st: store.Store, cast: Cast, rounds: int, start: int = 0) -> None:
    reg = scripted_registry()
    try:
        for n in range(start, start + rounds):
            now = NOW + timedelta(minutes=n)
            await commit(st, cast, "Alda", ALDA_ACTS[n % len(ALDA_ACTS)], -2, now)
            await commit(st, cast, "Brix", BRIX_ACTS[n % len(BRIX_ACTS)], -2, now)
            later = now + timedelta(seconds=30)
            for w in await st.claim_due_windows(later, limit=20, worker_id="t", lease_seconds=30):
                await medium.synthesize(st, reg, w.frame_id, w.id, now=later)
    finally:
        await reg.aclose()


class LeakyLLM:
    """A summarizer that repeats secrets Alda may not know beside what she may."""

    provider = "test"

    async def complete(self, messages: Any, **kw: Any) -> Completion:
        return Completion(text=f"You haggled over salt all morning. {BRIX_SECRET} {CELL_SECRET} "
                               f"{ALDA_SECRET} The gate stayed busy.")


async def test_summaries_are_versioned_witnessed_only_and_reach_the_next_prompt(db_url: str) -> None:
    async with running_api(db_url) as api:
        st = api.st
        cast = await make_frame(st, spec())
        alda = cast.ids["Alda"]
        await play(st, cast, 3)
        reg = scripted_registry()
        llm, model, _ = reg.soft()
        assert await memory_run.maybe_summarize(st, llm, model, cast.frame_id, alda) is None  # not due yet
        v1 = await memory_run.maybe_summarize(st, llm, model, cast.frame_id, alda, force=True)
        assert v1 is not None
        assert v1["version"] == 1
        async with st.pool.acquire() as conn:
            own = await conn.fetch("SELECT id, seq, outcome_ids, narrative FROM solid WHERE frame_id = $1 AND "
                                   "character_id = $2 ORDER BY seq", cast.frame_id, alda)
            brix_text = [r["narrative"] for r in await conn.fetch(
                "SELECT narrative FROM solid WHERE character_id = $1", cast.ids["Brix"])]
        assert v1["source_solid_ids"] == [r["id"] for r in own]
        assert set(v1["source_outcome_ids"]) <= {o for r in own for o in r["outcome_ids"]}
        assert v1["through_seq"] == own[-1]["seq"]
        assert not any(b.split(".")[0] in v1["summary"] for b in brix_text)

        inp, _ = await medium.prepare(st, cast.frame_id, None, character_id=alda)
        text = compile_.directive_text(compile_.compile_directive(inp))
        assert "YOUR MEMORY" in text
        assert v1["summary"][:60] in text

        await play(st, cast, 2, start=3)
        v2 = await memory_run.maybe_summarize(st, llm, model, cast.frame_id, alda, force=True)
        assert v2 is not None
        assert (v2["version"], v2["through_seq"] > v1["through_seq"]) == (2, True)
        assert not set(v2["source_solid_ids"]) & set(v1["source_solid_ids"])  # only what came after v1

        r = await api.client.get(f"/frames/{cast.frame_id}/memory", headers=bearer(cast.gm))
        assert r.status_code == 200
        assert [(m["character_id"], m["version"]) for m in r.json()] == [(str(alda), 1), (str(alda), 2)]
        r = await api.client.get(f"/frames/{cast.frame_id}/memory", headers=bearer(cast.users["Alda"]))  # type: ignore[arg-type]
        assert r.status_code == 403
        await reg.aclose()


async def test_a_leaky_summarizer_is_stopped_before_anything_is_stored(st: store.Store) -> None:
    cast = await make_frame(st, spec())
    await play(st, cast, 2)
    row = await memory_run.maybe_summarize(st, LeakyLLM(), "leaky", cast.frame_id, cast.ids["Alda"],  # type: ignore[arg-type]
                                           force=True)
    assert row is not None
    assert row["redacted"] == 2
    assert BRIX_SECRET not in row["summary"]
    assert CELL_SECRET not in row["summary"]  # Alda is not in the cell
    assert ALDA_SECRET in row["summary"]  # her own secret is hers to remember
    async with st.pool.acquire() as conn:
        stored = await conn.fetch("SELECT summary FROM memory_summaries")
    assert all(BRIX_SECRET not in r["summary"] and CELL_SECRET not in r["summary"] for r in stored)
    # Brix, a hidden member of the cell, may remember its secret, not Alda's
    brix = await memory_run.maybe_summarize(st, LeakyLLM(), "leaky", cast.frame_id, cast.ids["Brix"],  # type: ignore[arg-type]
                                            force=True)
    assert brix is not None
    assert CELL_SECRET in brix["summary"]
    assert BRIX_SECRET in brix["summary"]
    assert ALDA_SECRET not in brix["summary"]


async def test_the_worker_hook_summarises_when_due(st: store.Store) -> None:
    cast = await make_frame(st, spec())
    await play(st, cast, 1)
    async with st.pool.acquire() as conn:  # a long stretch of Alda's story since any summary
        await conn.execute("UPDATE solid SET narrative = narrative || repeat(' You keep haggling.', 300)"
                           " WHERE character_id = $1", cast.ids["Alda"])
    reg = scripted_registry()
    try:
        await memory_run.after_synthesis(st, reg, cast.frame_id, cast.ids["Alda"])
        await memory_run.after_synthesis(st, reg, cast.frame_id, cast.ids["Brix"])  # not due: nothing
    finally:
        await reg.aclose()
    async with st.pool.acquire() as conn:
        rows = await conn.fetch("SELECT character_id, version FROM memory_summaries")
    assert [(r["character_id"], r["version"]) for r in rows] == [(cast.ids["Alda"], 1)]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unseen=st_.sets(st_.integers(1, 40), min_size=1, max_size=15))
async def test_a_summary_is_built_only_from_what_its_character_witnessed(st: store.Store, unseen: set[int]) -> None:
    cast = await cast_of(st)
    await long_history(st, cast, outcomes=40, unincorporated=0, unseen=unseen)
    reg = scripted_registry()
    try:
        llm, model, _ = reg.soft()
        row = await memory_run.maybe_summarize(st, llm, model, cast.frame_id, cast.ids["Alda"], force=True)
    finally:
        await reg.aclose()
    assert row is not None
    async with st.pool.acquire() as conn:
        own = await conn.fetch("SELECT id, outcome_ids FROM solid WHERE frame_id = $1 AND character_id = $2",
                               cast.frame_id, cast.ids["Alda"])
        unseen_ids = {r["id"] for r in await conn.fetch(
            "SELECT id FROM outcomes WHERE frame_id = $1 AND seq / 2 = ANY($2::int[])", cast.frame_id, sorted(unseen))}
    assert set(row["source_solid_ids"]) == {r["id"] for r in own}
    assert set(row["source_outcome_ids"]) <= {o for r in own for o in r["outcome_ids"]}
    assert not set(row["source_outcome_ids"]) & unseen_ids
    assert UNSEEN not in row["summary"]
    assert "OTHER-NARR" not in row["summary"]
