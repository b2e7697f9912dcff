"""Strict parsing of a Medium's output: a table of malformed model outputs, text and JSON.

Each case either parses cleanly ("repaired" below means a harmless deviation the parser
normalises itself: prose before the blocks, Markdown headers or fences, a bracketed or
capitalised handle, "Success.") or raises ParseError whose message names the problem, which
``medium.complete_and_parse`` quotes in its one repair call. Parsing is pure: a failure has
nothing to write, and the integration tests prove that no partial outcome reaches the tables.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest

from synthesis import compile as compile_
from synthesis import medium, parse
from synthesis.errors import ParseError
from synthesis.llm.base import Completion, Message, Usage
from synthesis.types import ActionView, Knowledge, MediumInput, OutcomeView, PersonView

IDS = {h: uuid.uuid4() for h in ("kessa", "dax", "tobin")}
EARLIER = uuid.uuid4()


def medium_input(*, with_action: bool = True) -> MediumInput:
    act = ActionView(liquid_id=uuid.uuid4(), character_id=IDS["kessa"], handle="kessa", name="Kessa Vorn",
                     text="I draw my blaster", pscale=-2, status="committed")
    earlier = OutcomeView(outcome_id=EARLIER, seq=1, source_handle="dax",
                          actions=[{"handle": "dax", "action": "sits down", "result": "success"}],
                          world_facts=[], interrupts=[], game_clock=10)
    return MediumInput(
        frame_id=uuid.uuid4(), window_id=uuid.uuid4(), character_id=IDS["kessa"], handle="kessa",
        trigger_mode="expiry" if with_action else "perceive", pscale=-2,
        my_action=[act] if with_action else [], resolved_outcomes=[earlier],
        knowledge=Knowledge(me=PersonView(handle="kessa", name="Kessa Vorn", internal="secret"),
                            others=[PersonView(handle="dax", name="Dax Orrun"),
                                    PersonView(handle="tobin", name="Tobin Reez")]),
        handles=dict(IDS), incorporated_through=1, snapshot_seq=1,
    )


def text_reply(*, actions: Sequence[str] = ("kessa | draws her blaster | success",),
               facts: Sequence[str] = ("a blaster is out",), interrupts: Sequence[str] = ("dax | held at gunpoint",),
               involved: Sequence[str] = ("tobin",), narrative: str = "You draw on Dax.") -> str:
    lines = ["OUTCOME", "actions_resolved:", *(f"- {a}" for a in actions), "world_facts:",
             *(f"- {f}" for f in facts), "interrupts:", *(f"- {i}" for i in interrupts),
             "involved:", *(f"- {h}" for h in involved), "NARRATIVE", narrative]
    return "\n".join(lines)


def json_reply(*, actions: Sequence[Any] | None = None, interrupts: Sequence[Any] | None = None,
               narrative: Any = "You draw on Dax.", **outcome: Any) -> str:
    body = {
        "actions_resolved": list(actions if actions is not None else
                                 [{"character": "kessa", "action": "draws her blaster", "result": "success"}]),
        "world_facts": ["a blaster is out"],
        "interrupts": list(interrupts if interrupts is not None else [{"target": "dax", "reason": "held"}]),
        "involved": ["tobin"], **outcome,
    }
    return json.dumps({"outcome": body, "narrative": narrative})


GOOD_TEXT = text_reply()
GOOD_JSON = json_reply()
LONG = "word " * (compile_.NARRATIVE_CAP // 5 + 1)

# (case, reply, expected): None means a clean parse; a string is a fragment of the ParseError.
TEXT_CASES: list[tuple[str, str, str | None]] = [
    ("well formed", GOOD_TEXT, None),
    ("repaired: prose before the OUTCOME block", "Sure! Here is the result.\n\n" + GOOD_TEXT, None),
    ("repaired: Markdown headers", GOOD_TEXT.replace("OUTCOME", "## OUTCOME").replace("NARRATIVE", "**NARRATIVE**"),
     None),
    ("repaired: blocks inside a code fence, prose after it", "```text\n" + GOOD_TEXT + "\n```\nHope this helps.",
     None),
    ("repaired: bracketed and capitalised handles, 'Success.'",
     text_reply(actions=["[Kessa] | draws her blaster | Success."], interrupts=["[DAX] | held"]), None),
    ("repaired: 'none' under interrupts and involved", text_reply(interrupts=["none"], involved=["(none)"]), None),
    ("unknown handle in actions_resolved", text_reply(actions=["kessa | draws | success", "zed | ducks | success"]),
     "actions_resolved[1]: unknown character handle 'zed'"),
    ("unknown handle in interrupts", text_reply(interrupts=["greedo | shot first"]),
     "interrupts[0]: unknown character handle 'greedo'"),
    ("unknown handle in involved", text_reply(involved=["jabba"]), "involved[0]: unknown character handle 'jabba'"),
    ("missing own action", text_reply(actions=["dax | flinches | success"]),
     "actions_resolved does not resolve kessa's own action"),
    ("no actions at all", text_reply(actions=[]), "actions_resolved does not resolve kessa's own action"),
    ("bad result value", text_reply(actions=["kessa | draws | victory"]),
     "actions_resolved[0]: result 'victory' is not one of success, partial, failure, interrupted"),
    ("action line without a result", text_reply(actions=["kessa | draws"]),
     "expected 'handle | action | result'"),
    ("empty narrative", text_reply(narrative="   "), "NARRATIVE is empty"),
    ("narrative over the cap", text_reply(narrative=LONG), f"the cap is {compile_.NARRATIVE_CAP}"),
    ("self-interrupt", text_reply(interrupts=["kessa | trips over her own feet"]),
     "interrupts[0]: a character cannot interrupt itself"),
    ("no NARRATIVE block", GOOD_TEXT.split("NARRATIVE")[0], "no NARRATIVE block found"),
    ("no OUTCOME block", "NARRATIVE\nYou draw.", "no OUTCOME block found"),
    ("NARRATIVE header not on its own line", GOOD_TEXT.replace("NARRATIVE\n", "NARRATIVE: "),
     "no NARRATIVE block found"),
    ("prose between the blocks", GOOD_TEXT.replace("NARRATIVE", "That is the outcome.\nNARRATIVE"),
     "expected '- ...' under a section"),
    ("item outside any section", GOOD_TEXT.replace("OUTCOME\n", "OUTCOME\n- stray item\n"),
     "item outside any section"),
]

JSON_CASES: list[tuple[str, str, str | None]] = [
    ("well formed", GOOD_JSON, None),
    ("repaired: prose around the JSON", "Here is the result:\n" + GOOD_JSON + "\nLet me know if you need more.", None),
    ("repaired: prose with braces before the JSON", "Answer in {outcome, narrative} form:\n" + GOOD_JSON, None),
    ("repaired: inside a ```json fence", "```json\n" + GOOD_JSON + "\n```", None),
    ("repaired: capitalised result",
     json_reply(actions=[{"character": "kessa", "action": "draws", "result": "Success"}]), None),
    ("truncated JSON", GOOD_JSON[: len(GOOD_JSON) // 2], "invalid JSON"),
    ("truncated before the narrative", GOOD_JSON[: GOOD_JSON.index('"narrative"') + 5], "invalid JSON"),
    ("no JSON at all", "I cannot answer that.", "no JSON object found"),
    ("a JSON array", "[1, 2]", "no JSON object found"),
    ("unknown handle", json_reply(actions=[{"character": "kessa", "action": "draws", "result": "success"},
                                           {"character": "zed", "action": "ducks", "result": "success"}]),
     "actions_resolved[1]: unknown character handle 'zed'"),
    ("missing character key", json_reply(actions=[{"action": "draws", "result": "success"}]),
     "actions_resolved[0]: unknown character handle ''"),
    ("missing own action", json_reply(actions=[{"character": "dax", "action": "flinches", "result": "success"}]),
     "actions_resolved does not resolve kessa's own action"),
    ("missing outcome", json.dumps({"narrative": "You draw."}), "actions_resolved does not resolve kessa's own action"),
    ("bad result value", json_reply(actions=[{"character": "kessa", "action": "draws", "result": "win"}]),
     "actions_resolved[0]: result 'win' is not one of"),
    ("empty narrative", json_reply(narrative=""), "NARRATIVE is empty"),
    ("narrative not a string", json_reply(narrative=None), "narrative must be a string"),
    ("narrative over the cap", json_reply(narrative=LONG), f"the cap is {compile_.NARRATIVE_CAP}"),
    ("self-interrupt", json_reply(interrupts=[{"target": "kessa", "reason": "oops"}]),
     "interrupts[0]: a character cannot interrupt itself"),
    ("interrupt of an unknown handle", json_reply(interrupts=["han"]), "interrupts[0]: unknown character handle 'han'"),
    ("outcome not an object", json.dumps({"outcome": ["x"], "narrative": "You draw."}), "outcome must be an object"),
    ("actions_resolved not a list", json_reply(actions=None, actions_resolved="kessa wins"),
     "outcome.actions_resolved must be a list"),
    ("action not an object", json_reply(actions=["kessa draws"]), "actions_resolved[0] must be an object"),
]


def _check(reply: str, expected: str | None, *, json_mode: bool) -> None:
    inp = medium_input()
    if expected is None:
        out = parse.parse_output(reply, inp, json_mode=json_mode)
        assert out.outcome is not None
        assert next((a.character_id, a.result) for a in out.outcome.actions_resolved) == (IDS["kessa"], "success")
        assert out.narrative.startswith("You draw")
        assert "```" not in out.narrative
        assert "Hope this helps" not in out.narrative
        assert out.outcome.characters_involved[0] == IDS["kessa"]
        assert EARLIER in out.outcomes_incorporated
        return
    with pytest.raises(ParseError) as err:
        parse.parse_output(reply, inp, json_mode=json_mode)
    assert expected in err.value.message


@pytest.mark.parametrize(("case", "reply", "expected"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_text_format(case: str, reply: str, expected: str | None) -> None:
    _check(reply, expected, json_mode=False)


@pytest.mark.parametrize(("case", "reply", "expected"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_format(case: str, reply: str, expected: str | None) -> None:
    _check(reply, expected, json_mode=True)


def test_clean_parse_maps_handles_to_ids_and_collects_involvement() -> None:
    out = parse.parse_text(GOOD_TEXT, medium_input())
    assert out.outcome is not None
    assert [i.target_character_id for i in out.outcome.interrupts] == [IDS["dax"]]
    assert out.outcome.characters_involved == [IDS["kessa"], IDS["dax"], IDS["tobin"]]
    assert out.outcome.world_facts == ["a blaster is out"]
    assert out.narrative == "You draw on Dax."


@pytest.mark.parametrize("json_mode", [False, True])
def test_no_action_means_no_outcome_only_a_narrative(json_mode: bool) -> None:
    reply = json.dumps({"narrative": "You watch."}) if json_mode else "NARRATIVE\nYou watch."
    out = parse.parse_output(reply, medium_input(with_action=False), json_mode=json_mode)
    assert out.outcome is None
    assert out.narrative == "You watch."
    assert out.outcomes_incorporated == [EARLIER]


# --- one repair call quoting the error ------------------------------------------------------


class QueuedLLM:
    """An LLM fake: returns queued texts in order and records every call's messages."""

    provider = "fake"

    def __init__(self, *texts: str) -> None:
        self.texts = deque(texts)
        self.calls: list[tuple[list[Message], dict[str, Any] | None]] = []

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        self.calls.append((list(messages), json_schema))
        return Completion(text=self.texts.popleft(), usage=Usage(100, 10), model=model, provider=self.provider)


PROMPT: list[Message] = [{"role": "system", "content": "You are the MEDIUM"}, {"role": "user", "content": "go"}]


@pytest.mark.parametrize("json_mode", [False, True])
async def test_one_repair_call_quotes_the_error(json_mode: bool) -> None:
    bad = (json_reply(actions=[{"character": "zed", "action": "x", "result": "success"}]) if json_mode
           else text_reply(actions=["zed | x | success"]))
    llm = QueuedLLM(bad, GOOD_JSON if json_mode else GOOD_TEXT)
    out, repaired, usage = await medium.complete_and_parse(llm, "m", PROMPT, medium_input(), json_mode=json_mode)
    assert repaired
    assert out.narrative == "You draw on Dax."
    assert len(llm.calls) == 2
    repair, schema = llm.calls[1]
    assert repair[: len(PROMPT)] == PROMPT
    assert repair[len(PROMPT)] == {"role": "assistant", "content": bad}
    assert repair[-1]["role"] == "user"
    assert "unknown character handle 'zed'" in repair[-1]["content"]
    assert (schema is not None) == json_mode
    assert llm.calls[0][1] == schema
    assert (usage.prompt_tokens, usage.completion_tokens) == (200, 20)


async def test_valid_first_reply_makes_no_repair_call() -> None:
    llm = QueuedLLM(GOOD_TEXT)
    out, repaired, _ = await medium.complete_and_parse(llm, "m", PROMPT, medium_input(), json_mode=False)
    assert not repaired
    assert len(llm.calls) == 1
    assert out.outcome is not None


@pytest.mark.parametrize("json_mode", [False, True])
async def test_still_invalid_after_the_repair_fails_naming_both_errors(json_mode: bool) -> None:
    first = json_reply(narrative="") if json_mode else text_reply(narrative="")
    second = GOOD_JSON[:30] if json_mode else text_reply(actions=["kessa | draws | victory"])
    llm = QueuedLLM(first, second, GOOD_JSON if json_mode else GOOD_TEXT)
    with pytest.raises(ParseError) as err:
        await medium.complete_and_parse(llm, "m", PROMPT, medium_input(), json_mode=json_mode)
    assert len(llm.calls) == 2, "exactly one repair call; retries with backoff belong to the worker"
    assert "after one repair" in err.value.message
    assert ("invalid JSON" if json_mode else "result 'victory'") in err.value.message
    assert "NARRATIVE is empty" in err.value.message
