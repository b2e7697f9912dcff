"""False positives on the real pipeline: every action the Mos Eisley scenario offers, for every
character, with the others' actions as same-pscale context, through the real compile and the
scripted narrator. An honest narrator must never be refused or redacted; the hostile one
always is. The printed rates are the figures quoted in the closing note of issue 12."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synthesis import compile as compile_
from synthesis import medium
from synthesis.llm.base import Completion, Message
from synthesis.llm.scripted import ScriptedLLM
from synthesis.scenario import load_scenario_file
from tests.hostile import MOS_EISLEY, leaky_reply, mos_eisley_input


class Hostile:
    provider = "fake"

    async def complete(self, messages: Sequence[Message], **kw: Any) -> Completion:
        return Completion(text=leaky_reply(messages[1]["content"], json_mode=kw.get("json_schema") is not None))


def windows() -> list[Any]:
    sc = load_scenario_file(MOS_EISLEY)
    out = []
    for c in sc.characters:
        for i, a in enumerate(c.actions):
            others = {o.name: o.actions[i % len(o.actions)].text for o in sc.characters
                      if o.name != c.name and o.player}
            out.append(mos_eisley_input(c.name, a.text, others=others))
    return out


async def rates(llm: Any) -> tuple[int, int, int]:
    n = repaired = redacted = 0
    for json_mode in (False, True):
        for inp in windows():
            out, rep, _ = await medium.complete_and_parse(
                llm, "m", compile_.compile_directive(inp, json_mode=json_mode), inp, json_mode=json_mode)
            n, repaired, redacted = n + 1, repaired + rep, redacted + out.redacted
    return n, repaired, redacted


async def test_an_honest_narrator_is_never_refused() -> None:
    n, repaired, redacted = await rates(ScriptedLLM(seed=1))
    print(f"scripted narrator: {n} windows, repair rate {repaired / n:.0%}, {redacted} redacted")
    assert n == 2 * sum(len(c.actions) for c in load_scenario_file(MOS_EISLEY).characters)
    assert (repaired, redacted) == (0, 0)


async def test_a_hostile_narrator_is_always_refused_and_redacted() -> None:
    n, repaired, redacted = await rates(Hostile())
    print(f"hostile narrator: {n} windows, repair rate {repaired / n:.0%}, "
          f"{redacted / n:.1f} texts redacted per window")
    assert repaired == n
    assert redacted >= 3 * n
