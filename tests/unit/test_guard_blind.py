"""``outcome_mode: blind`` against ``guarded``, measured with the scripted narrator: calls and
tokens per window, and what each call's prompt holds. Blind's first call holds no private
layer at all; its second has it and writes only the narrative."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from synthesis import blind, guard, medium
from synthesis import compile as compile_
from synthesis.llm.base import Completion, Message
from synthesis.llm.scripted import ScriptedLLM
from tests.hostile import leaky_reply, mos_eisley_input

KESSA = "I walk to the end of the bar and say: 'Is the Dune Sea calm tonight?'"
PRIVATE = ["left boot", "Owes a Hutt", "stolen garrison patrol codes", "your membership is secret"]


class Counting:
    """Wraps an LLM; records every prompt and the usage it reported."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.prompts: list[str] = []
        self.prompt_tokens = self.completion_tokens = 0

    async def complete(self, messages: Sequence[Message], **kw: Any) -> Completion:
        self.prompts.append("\n".join(m["content"] for m in messages))
        done: Completion = await self.inner.complete(messages, **kw)
        self.prompt_tokens += done.usage.prompt_tokens
        self.completion_tokens += done.usage.completion_tokens
        return done


def inputs() -> list[Any]:
    others = {"Dax Orrun": "I step between the door and her table", "Tobin Reez": "I adjust my red scarf"}
    return [mos_eisley_input("Kessa Vorn", KESSA, others=others),
            mos_eisley_input("Tobin Reez", "I answer: 'Calm enough, if you know where to walk.'"),
            mos_eisley_input("Dax Orrun", "I lean on the bar and study every face in the room")]


@pytest.mark.parametrize("json_mode", [False, True])
async def test_blind_costs_two_calls_and_its_first_prompt_has_no_private_layer(json_mode: bool) -> None:
    guarded, blinded = Counting(ScriptedLLM(seed=3)), Counting(ScriptedLLM(seed=3))
    for inp in inputs():
        g, _, _ = await medium.complete_and_parse(
            guarded, "m", compile_.compile_directive(inp, json_mode=json_mode), inp, json_mode=json_mode)
        b, _, usage, directive = await medium.complete_blind(blinded, "m", inp, json_mode=json_mode)
        assert b.outcome is not None
        assert g.outcome is not None
        assert b.narrative
        assert b.redacted == 0
        assert b.outcome.actions_resolved[0].character_id == inp.character_id
        assert usage.prompt_tokens > 0
        assert "THE OUTCOME (already decided" in directive
    n = len(inputs())
    assert len(guarded.prompts) == n
    assert len(blinded.prompts) == 2 * n
    adjudicate, narrate = blinded.prompts[0::2], blinded.prompts[1::2]
    assert not any(p in text for text in adjudicate for p in PRIVATE)
    assert any(p in narrate[0] for p in PRIVATE)
    ratio = blinded.prompt_tokens / guarded.prompt_tokens
    print(f"json={json_mode}: guarded {len(guarded.prompts) / n:.0f} call, "
          f"{guarded.prompt_tokens / n:.0f}+{guarded.completion_tokens / n:.0f} tokens/window; "
          f"blind {len(blinded.prompts) / n:.0f} calls, "
          f"{blinded.prompt_tokens / n:.0f}+{blinded.completion_tokens / n:.0f} tokens/window "
          f"(prompt x{ratio:.2f})")
    assert 1.6 < ratio < 2.4  # the scene is sent twice; the narrative-only format is shorter


async def test_a_blind_outcome_cannot_leak_what_its_prompt_never_held() -> None:
    """The hostile narrator copies every secret it can read. In blind mode's first call it can
    read none, so the outcome needs no redaction; the narrative call still has them."""
    class Hostile:
        provider = "fake"

        async def complete(self, messages: Sequence[Message], **kw: Any) -> Completion:
            return Completion(text=leaky_reply(messages[1]["content"], json_mode=True))

    inp = mos_eisley_input("Kessa Vorn", "I slide into the corner booth and watch the door")
    out, repaired, _, _ = await medium.complete_blind(Hostile(), "m", inp, json_mode=True)
    assert not repaired
    assert out.redacted == 0
    assert out.outcome is not None
    assert guard.check(out.outcome, guard.build(inp), inp.character_id) == []
    assert "left boot" in out.narrative
    assert not out.narrative.startswith("{")


@pytest.mark.parametrize(("reply", "narrative"), [
    ("NARRATIVE\nYou wait.", "You wait."),
    ('{"outcome": {}, "narrative": "You wait."}', "You wait."),
    ("You wait.", "You wait."),
    ("OUTCOME\nactions_resolved:\n- x | y | success\nNARRATIVE\nYou wait.\n```\nmore", "You wait."),
])
def test_parse_narrative(reply: str, narrative: str) -> None:
    assert blind.parse_narrative(reply) == narrative


def test_public_view_keeps_public_memberships() -> None:
    view = blind.public_view(mos_eisley_input("Dax Orrun", None)).knowledge
    assert view.me.internal is None
    assert view.me.affiliations == ["Bounty Hunters' Guild"]
    assert all(g.internal is None and not g.member for g in view.groups)
    hidden = blind.public_view(mos_eisley_input("Kessa Vorn", None)).knowledge
    assert hidden.me.affiliations == []
    assert "Rebel Cell" not in {g.name for g in hidden.groups}
