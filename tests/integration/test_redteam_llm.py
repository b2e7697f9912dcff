"""Red team, LLM output (issue 14, item 7): malformed, truncated, huge and wrongly typed
replies, fed twice (the reply and its one repair) through the real ``complete_and_parse``
path of a Mos Eisley Medium, text and JSON layouts. Each is refused with a ``ParseError``
naming what is wrong (the worker then retries with backoff and, at last, marks the window
failed: ``test_synthesis_db`` proves a refused output writes no row). The soft analysis
falls back, saying why, for the same kinds of reply."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest

from synthesis import medium, soft
from synthesis.errors import ParseError
from synthesis.llm.base import Completion, Message
from synthesis.types import Character
from tests.hostile import mos_eisley_input
from tests.integration.redteam import Tally

PROMPT: list[Message] = [{"role": "system", "content": "You are the MEDIUM"}, {"role": "user", "content": "go"}]
INP = mos_eisley_input("Kessa Vorn", "I slide into the corner booth")
ME = INP.handle
GOOD_TEXT = (f"OUTCOME\nactions_resolved:\n- {ME} | slides into the booth | success\nworld_facts:\n- the booth is "
             "taken\ninterrupts:\ninvolved:\nNARRATIVE\nYou slide into the booth.")
GOOD_JSON = json.dumps({"outcome": {"actions_resolved": [{"character": ME, "action": "slides in", "result": "success"}],
                                    "world_facts": [], "interrupts": [], "involved": []},
                        "narrative": "You slide into the booth."})


class Twice:
    """Replies with the same bad completion to the call and to its repair."""

    provider = "hostile"

    def __init__(self, reply: Completion):
        self.replies = deque([reply, reply])

    async def complete(self, messages: Sequence[Message], *, model: str, json_schema: dict[str, Any] | None = None,
                       max_tokens: int = 1024, temperature: float = 0.8) -> Completion:
        return self.replies.popleft()


def jreply(outcome: Any = None, narrative: Any = "You slide in.", **top: Any) -> str:
    doc: dict[str, Any] = {"outcome": outcome if outcome is not None else {
        "actions_resolved": [{"character": ME, "action": "slides in", "result": "success"}],
        "world_facts": [], "interrupts": [], "involved": []}, "narrative": narrative, **top}
    return json.dumps(doc)


def action(**kw: Any) -> dict[str, Any]:
    return {"actions_resolved": [{"character": ME, "action": "slides in", "result": "success", **kw}],
            "world_facts": [], "interrupts": [], "involved": []}


# (kind, id, json_mode, reply, fragment of the ParseError)
CASES: list[tuple[str, str, bool, Completion, str]] = [
    ("malformed", "empty", False, Completion(""), "no NARRATIVE block"),
    ("malformed", "prose only", False, Completion("I cannot help with that."), "no NARRATIVE block"),
    ("malformed", "only a narrative", False, Completion("NARRATIVE\nYou wait."), "no OUTCOME block"),
    ("malformed", "headers swapped", False, Completion("NARRATIVE\nYou wait.\nOUTCOME\n"), "NARRATIVE block"),
    ("malformed", "bad result", False, Completion(GOOD_TEXT.replace("| success", "| triumph")), "triumph"),
    ("malformed", "unknown handle", False, Completion(GOOD_TEXT.replace(f"- {ME} |", "- vader |")), "vader"),
    ("malformed", "self interrupt", False, Completion(GOOD_TEXT.replace("interrupts:\n", f"interrupts:\n- {ME} | x\n")),
     "cannot interrupt itself"),
    ("malformed", "JSON: not JSON", True, Completion("OUTCOME: yes"), "JSON"),
    ("malformed", "JSON: an array", True, Completion("[1, 2, 3]"), "JSON"),
    ("malformed", "JSON: unknown handle", True,
     Completion(jreply(outcome={**action(), "actions_resolved": [{"character": "vader", "action": "x",
                                                                   "result": "success"}]})), "vader"),
    ("malformed", "JSON: own action missing", True, Completion(jreply(outcome={**action(), "actions_resolved": []})),
     "own action"),
    ("truncated", "cut at the length limit", False, Completion(GOOD_TEXT, truncated=True), "cut off"),
    ("truncated", "JSON cut at the length limit", True, Completion(GOOD_JSON, truncated=True), "cut off"),
    ("truncated", "text cut before NARRATIVE", False, Completion(GOOD_TEXT.split("NARRATIVE")[0]), "NARRATIVE"),
    ("truncated", "text cut mid-action", False, Completion(GOOD_TEXT[:GOOD_TEXT.index("| success")]),
     "no NARRATIVE block"),
    ("truncated", "JSON cut in half", True, Completion(GOOD_JSON[: len(GOOD_JSON) // 2]), "JSON"),
    ("truncated", "JSON cut before the narrative", True, Completion(GOOD_JSON[: GOOD_JSON.index('"narrative"')]),
     "JSON"),
    ("huge", "narrative of a megabyte", False, Completion(GOOD_TEXT + " word" * 200_000), "cap"),
    ("huge", "JSON narrative of a megabyte", True, Completion(jreply(narrative="word " * 200_000)), "cap"),
    ("huge", "ten thousand unknown actions", False, Completion(GOOD_TEXT.replace(
        "world_facts:", "".join(f"- ghost{i} | waves | success\n" for i in range(10_000)) + "world_facts:")),
     "ghost0"),
    ("wrong types", "narrative a list", True, Completion(jreply(narrative=["You", "slide"])), "narrative"),
    ("wrong types", "narrative a number", True, Completion(jreply(narrative=42)), "narrative"),
    ("wrong types", "narrative null", True, Completion(jreply(narrative=None)), "narrative"),
    ("wrong types", "narrative empty", True, Completion(jreply(narrative="  ")), "narrative"),
    ("wrong types", "outcome a string", True, Completion(jreply(outcome="success")), "outcome"),
    ("wrong types", "actions_resolved an object", True,
     Completion(jreply(outcome={**action(), "actions_resolved": {"character": ME}})), "actions_resolved"),
    ("wrong types", "result a number", True, Completion(jreply(outcome=action(result=1))), "result"),
    ("wrong types", "result null", True, Completion(jreply(outcome=action(result=None))), "result"),
    ("wrong types", "character a number", True, Completion(jreply(outcome=action(character=7))), "7"),
    ("wrong types", "world_facts a string", True,
     Completion(jreply(outcome={**action(), "world_facts": "it rains"})), "world_facts"),
    ("wrong types", "interrupts a string", True,
     Completion(jreply(outcome={**action(), "interrupts": "everyone"})), "interrupts"),
]


@pytest.mark.parametrize("json_mode", [False, True])
async def test_a_good_reply_passes(json_mode: bool) -> None:  # so the table's refusals are the replies' fault
    reply = Completion(GOOD_JSON if json_mode else GOOD_TEXT)
    out, repaired, _ = await medium.complete_and_parse(Twice(reply), "m", PROMPT, INP, json_mode=json_mode)
    assert (repaired, out.outcome is not None) == (False, True)


async def test_the_llm_output_table() -> None:
    tally = Tally("llm-output")
    for kind, case_id, json_mode, reply, says in CASES:
        with pytest.raises(ParseError) as err:
            await medium.complete_and_parse(Twice(reply), "m", PROMPT, INP, json_mode=json_mode)
        assert "after one repair" in err.value.message, (case_id, err.value.message)
        assert says.lower() in err.value.message.lower(), (case_id, err.value.message[:400])
        assert len(err.value.message) < 5000, case_id  # a huge reply is not quoted back whole
        tally.refused(kind)
    cast = [Character(id=cid, frame_id=INP.frame_id, name=h, handle=h) for h, cid in INP.handles.items()]
    me = next(c for c in cast if c.id == INP.character_id)
    soft_replies = {
        "not JSON": "pscale: -1", "pscale a string": '{"pscale": "big"}', "pscale out of range": '{"pscale": 9}',
        "pscale missing": '{"interruptive": true}', "pscale a float": '{"pscale": -1.5}',
        "unknown interrupt target": '{"pscale": -2, "interruptive": true, "interrupt_targets": ["vader"]}',
        "targets not a list": '{"pscale": -2, "interrupt_targets": 5}', "an array": "[]",
        "truncated": '{"pscale": -2, "interrup',
    }
    for case_id, text in soft_replies.items():
        a = await soft.analyse(Twice(Completion(text)), "I draw on Dax", me, cast, mode="model")
        assert (a.source, a.note is not None and a.note.startswith("soft model failed")) == ("fallback", True), \
            (case_id, a)
        tally.refused("soft analysis")
    doc = tally.save()
    assert doc["refused"] >= 35, doc
