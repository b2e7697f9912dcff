"""The canned narrator (benchmarks only): its precomputed reply is a valid answer to the real
compiled prompt of the window's character, through the real parse path, and it never reads
anything of the prompt but its character's handle."""

from __future__ import annotations

import asyncio

from synthesis import compile as compile_
from synthesis import medium
from synthesis.llm.canned import LABEL, CannedLLM
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from tests.hostile import mos_eisley_input


def test_the_canned_reply_parses_for_the_windows_character() -> None:
    inp = mos_eisley_input("Kessa Vorn", "I slide into the corner booth and watch the door")
    messages = compile_.compile_directive(inp, json_mode=False)
    llm = CannedLLM()
    out, repaired, _ = asyncio.run(medium.complete_and_parse(llm, "canned", messages, inp, json_mode=False))
    assert not repaired
    assert out.outcome is not None
    assert [a.character_id for a in out.outcome.actions_resolved] == [inp.character_id]
    assert out.narrative.startswith("You carry on")
    assert llm.calls == 1


def test_one_reply_per_character_is_built_once_and_reused() -> None:
    inp = mos_eisley_input("Kessa Vorn", "I slide into the corner booth and watch the door")
    messages = compile_.compile_directive(inp, json_mode=False)
    llm = CannedLLM()
    first = asyncio.run(llm.complete(messages, model="canned")).text
    again = asyncio.run(llm.complete(messages, model="canned")).text
    assert first is again  # the same precomputed string, not a rebuilt one
    assert f"- {inp.handle} | " in first


def test_soft_analysis_goes_to_the_scripted_narrator() -> None:
    llm = CannedLLM()
    done = asyncio.run(llm.complete([{"role": "system", "content": "SOFT ANALYSIS"},
                                     {"role": "user", "content": "ACTION:\nI wave\n"}], model="canned"))
    assert '"pscale"' in done.text


def test_the_registry_builds_it_from_the_spec_and_labels_it() -> None:
    reg = Registry(Settings(MEDIUM_LLM="canned"))
    llm, model, label = reg.resolve(None)
    assert (llm.provider, model, label) == ("canned", "canned", LABEL)
    assert "benchmark" in label
