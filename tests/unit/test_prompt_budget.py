"""The prompt budget (issue 16, item 3): a compiled directive fits the budget, sections go in the
documented order, the character's own action and truth layers are never trimmed, and the
directive says what was trimmed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import budget, gather
from synthesis import compile as compile_
from tests.unit.lore_docs import doc, lore, outcome


def compiled(d: dict, *, prompt_budget: int | None = budget.DEFAULT_PROMPT_BUDGET, json_mode: bool = False
             ) -> tuple[str, int]:
    inp = gather.build_medium_input(d, prompt_budget=prompt_budget)
    messages = compile_.compile_directive(inp, json_mode=json_mode)
    text = compile_.directive_text(messages)
    return text, sum(budget.estimate_tokens(m["content"]) for m in messages)


def long_history(n: int) -> list[dict]:
    return [outcome(i + 1, "Jax" if i % 2 else "Greedo", f"ACT{i:04d} crosses the cantina floor slowly",
                    [f"FACT{i:04d} the band keeps playing"]) for i in range(n)]


def test_the_estimate_is_four_characters_a_token_rounded_up() -> None:
    assert [budget.estimate_tokens("x" * n) for n in (0, 1, 4, 5, 4000)] == [0, 1, 1, 2, 1000]


def test_a_small_prompt_is_untouched_and_carries_no_note() -> None:
    text, tokens = compiled(doc("Kessa", outcomes=long_history(3)))
    assert tokens < budget.DEFAULT_PROMPT_BUDGET
    assert budget.NOTE_TITLE not in text
    assert all(f"ACT{i:04d}" in text for i in range(3))


def test_a_long_history_fits_the_budget_oldest_first_and_the_directive_says_so() -> None:
    d = doc("Kessa", action="I slip the datacard to Jax", outcomes=long_history(400),
            narratives=[f"NARR{i} You watch the door. The band plays on." for i in range(2)])
    for json_mode in (False, True):
        text, tokens = compiled(d, prompt_budget=900, json_mode=json_mode)
        assert tokens <= 900
        # never trimmed: own action and own truth layers, own affiliation's, the output format
        for kept in ("I slip the datacard to Jax", "INT-Kessa", "UNI-Kessa", "EXT-Kessa", "INT-Rebels",
                     "OUTPUT FORMAT", "ORIENTATION"):
            assert kept in text, kept
        # the summary went first (all of it), then the briefs, then the oldest outcomes
        note = next(line for line in text.splitlines() if line.startswith(budget.NOTE_TITLE))
        assert "summary 41 of 41" in note
        assert "told 2 of 2" in note
        assert "outcomes" in note
        assert "EARLIER (summarised)" not in text
        assert "NARR0" not in text
        assert "ACT0399" in text
        assert "ACT0388" not in text


def test_the_trim_order_is_the_documented_one() -> None:
    d = doc("Kessa", outcomes=long_history(30), narratives=["NARR0 You wait."],
            others_intent=[("Boba", "PENDING-BOBA I leave for the hangar")],
            content=[lore("Spice", "LORE-SPICE spice is contraband", always=True)],
            world="\n".join(f"WORLDLINE{i} " + "w" * 60 for i in range(20)))
    _, full = compiled(d, prompt_budget=None)
    seen: list[str] = []
    for cap in range(full, 500, -40):
        text, _ = compiled(d, prompt_budget=cap)
        note = next((x for x in text.splitlines() if x.startswith(budget.NOTE_TITLE)), "")
        for key in budget.TRIM_ORDER:
            if f" {key} " in note and key not in seen:
                seen.append(key)
    order = [k for k in budget.TRIM_ORDER if k in seen]
    assert seen == order, seen
    assert seen[:5] == ["summary", "told", "pending", "lore", "outcomes"]  # no recall in this prompt


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), cap=st.integers(budget.MIN_PROMPT_BUDGET, 4000), world_lines=st.integers(0, 80),
       json_mode=st.booleans())
def test_every_prompt_fits_or_keeps_only_what_is_never_trimmed(n: int, cap: int, world_lines: int,
                                                                json_mode: bool) -> None:
    d = doc("Jax", action="ACTION-JAX I draw on Greedo", outcomes=long_history(n),
            world="\n".join(f"W{i} " + "lorem ipsum " * 8 for i in range(world_lines)))
    text, tokens = compiled(d, prompt_budget=cap, json_mode=json_mode)
    assert "ACTION-JAX I draw on Greedo" in text
    assert "INT-Jax" in text
    assert "INT-Rebels" in text
    if tokens > cap:
        assert "still over" in text
        assert "RESOLVED OUTCOMES" not in text
        assert "WORLD\nW0" not in text
