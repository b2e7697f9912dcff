"""Long play, measured on a real Postgres (issue 16, must show): after 2,000 outcomes in one
frame the prompt stays within the budget, an early world fact the current action names is
retrieved into the directive, and retrieval brings back only what the character witnessed:
never another character's narrative, never an outcome it did not incorporate."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthesis import budget, medium, store
from synthesis import compile as compile_
from tests.integration.api_support import cast_of
from tests.integration.helpers import commit, scripted_registry
from tests.integration.history_support import EARLY, UNSEEN, long_history

NOW = datetime(2026, 4, 1, tzinfo=UTC)
async def test_after_2000_outcomes_the_prompt_fits_and_an_early_fact_is_recalled(st: store.Store) -> None:
    cast = await cast_of(st)
    await long_history(st, cast)
    await commit(st, cast, "Alda", "I go and check the moisture vaporator for the datacard", -2, NOW)

    t0 = time.perf_counter()
    inp, _ = await medium.prepare(st, cast.frame_id, None, character_id=cast.ids["Alda"])
    gather_ms = (time.perf_counter() - t0) * 1000
    messages = compile_.compile_directive(inp)
    tokens = sum(budget.estimate_tokens(m["content"]) for m in messages)
    text = compile_.directive_text(messages)
    print(f"\n2000 outcomes: gather+recall {gather_ms:.0f} ms, prompt {tokens} tokens "
          f"of {budget.DEFAULT_PROMPT_BUDGET}")
    assert tokens <= budget.DEFAULT_PROMPT_BUDGET
    assert EARLY in text
    assert UNSEEN not in text
    assert "OTHER-NARR" not in text
    assert "I go and check the moisture vaporator" in text  # the own action is never trimmed

    # the real path: a worker's synthesis stores that directive, within budget
    reg = scripted_registry()
    try:
        later = NOW + timedelta(minutes=1)
        [w] = await st.claim_due_windows(later, limit=5, worker_id="t", lease_seconds=30)
        done = await medium.synthesize(st, reg, w.frame_id, w.id, now=later)
    finally:
        await reg.aclose()
    assert EARLY in done.directive
    assert budget.estimate_tokens(done.directive) <= budget.DEFAULT_PROMPT_BUDGET + 10  # + the '### ROLE' headers


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unseen=st.sets(st.integers(1, 60), max_size=20), action=st.sampled_from([
    "I check the vaporator", "I hum the band's tune", "I pace the room", "I look for the datacard in sector seven"]))
async def test_recall_never_leaves_what_the_character_witnessed(st: store.Store, unseen: set[int], action: str) -> None:
    cast = await cast_of(st)
    await long_history(st, cast, outcomes=60, unincorporated=0, unseen=unseen)
    await commit(st, cast, "Alda", action, -2, NOW)
    async with st.pool.acquire() as conn:
        own = {r["id"] for r in await conn.fetch("SELECT id FROM solid WHERE frame_id = $1 AND character_id = $2",
                                                 cast.frame_id, cast.ids["Alda"])}
        seen = {o for r in await conn.fetch("SELECT outcome_ids FROM solid WHERE frame_id = $1 AND character_id = $2",
                                            cast.frame_id, cast.ids["Alda"]) for o in r["outcome_ids"]}
        unseen_ids = {r["id"] for r in await conn.fetch(
            "SELECT id FROM outcomes WHERE frame_id = $1 AND seq / 2 = ANY($2::int[])", cast.frame_id, sorted(unseen))}
    inp, doc = await medium.prepare(st, cast.frame_id, None, character_id=cast.ids["Alda"])
    for r in doc["recalled"]:
        rid = UUID(str(r["item"]["id"]))
        assert rid in (own if r["kind"] == "narrative" else seen)
        assert rid not in unseen_ids
    text = compile_.directive_text(compile_.compile_directive(inp))
    assert "OTHER-NARR" not in text
    if unseen & {3}:
        assert EARLY not in text
    if "vaporator" in action and 3 not in unseen:
        assert EARLY in text


async def test_a_tight_frame_budget_trims_the_rest_before_the_recalled_fact(st: store.Store) -> None:
    cast = await cast_of(st, rules={"prompt_budget": 900})
    await long_history(st, cast, outcomes=400, unincorporated=100)
    await commit(st, cast, "Alda", "I go and check the moisture vaporator for the datacard", -2, NOW)
    inp, _ = await medium.prepare(st, cast.frame_id, None, character_id=cast.ids["Alda"])
    messages = compile_.compile_directive(inp)
    text = compile_.directive_text(messages)
    assert sum(budget.estimate_tokens(m["content"]) for m in messages) <= 900
    assert "PROMPT BUDGET: 900 tokens; trimmed" in text
    assert "I go and check the moisture vaporator" in text
    assert "ALDA-SECRET" in text
    assert EARLY in text  # the recalled fact outlasts older context
