"""``outcome_mode: blind``: adjudicate the outcome without the private layer, then narrate.

Call 1 sees the scene as an onlooker would: ``public_view(inp)`` drops the character's own
internal truth, its groups' internal truth, its secret memberships and its own earlier
narratives, so the OUTCOME it writes cannot carry what it never read (the guard still checks
it against the full input, as a second line). Call 2 has the full private layer and the fixed
outcome, and writes only the personal NARRATIVE. The cost is a second call whose prompt
repeats the scene; ``tests/unit/test_guard_blind.py`` measures it against ``guarded``.
"""

from __future__ import annotations

import contextlib
import json
import re

from synthesis import compile as compile_
from synthesis.errors import ParseError
from synthesis.llm.base import Message
from synthesis.types import ActionOutcome, GroupView, MediumInput

ONLOOKER_NOTE = ("This call decides only the OUTCOME, as an onlooker would see it; the character's "
                 "own narrative is written separately. Keep the NARRATIVE to one short sentence.")
_NARRATIVE = re.compile(r"^[ \t#*_>`-]*NARRATIVE[ \t*_:`]*$", re.MULTILINE | re.IGNORECASE)


def public_view(inp: MediumInput) -> MediumInput:
    """``inp`` as any onlooker may know it: no private layer at all."""
    k = inp.knowledge
    public_groups = {a for o in k.others for a in o.affiliations}
    groups = [GroupView(name=g.name, universal=g.universal, external=g.external)
              for g in k.groups
              if not g.member or not g.hidden or g.name in public_groups]
    mine = {g.name for g in k.groups if g.member and not g.hidden}
    me = k.me.model_copy(update={"internal": None,
                                 "affiliations": [a for a in k.me.affiliations if a in mine]})
    public = [v == "public" for v in inp.content_visibility] or [True] * len(inp.content)
    return inp.model_copy(update={
        "knowledge": k.model_copy(update={"me": me, "groups": groups, "gm_facts": []}),
        "recent_narrative": [],
        # issue 16: only public lore, no own narrative recalled, no memory (it holds the private layer)
        "content": [c for c, p in zip(inp.content, public, strict=False) if p],
        "content_visibility": [v for v, p in zip(inp.content_visibility, public, strict=False) if p],
        "recalled": [r for r in inp.recalled if r.kind == "outcome"],
        "memory": ""})


def outcome_messages(inp: MediumInput, *, json_mode: bool) -> list[Message]:
    messages = compile_.compile_directive(public_view(inp), json_mode=json_mode)
    return [messages[0], {"role": "user", "content": messages[1]["content"] + "\n" + ONLOOKER_NOTE + "\n"}]


def _outcome_lines(outcome: ActionOutcome | None, inp: MediumInput) -> list[str]:
    if outcome is None:
        return ["- (you took no action)"]
    by_id = {cid: h for h, cid in inp.handles.items()}
    lines = [f"- [{by_id.get(a.character_id, '?')}] {compile_.quote(a.action)} -> {a.result}"
             for a in outcome.actions_resolved]
    lines += [f"- fact: {compile_.quote(f)}" for f in outcome.world_facts]
    lines += [f"- interrupts [{by_id.get(i.target_character_id, '?')}]: {compile_.quote(i.reason)}"
              for i in outcome.interrupts]
    return lines


def narrative_messages(inp: MediumInput, outcome: ActionOutcome | None) -> list[Message]:
    """The full private prompt, with the outcome already decided: write only the NARRATIVE."""
    messages = compile_.compile_directive(inp, json_mode=False)
    body = messages[1]["content"].split("OUTPUT FORMAT", 1)[0].rstrip()
    tail = ["", "THE OUTCOME (already decided and shared; narrate it, do not change it)",
            *_outcome_lines(outcome, inp), "", "OUTPUT FORMAT", "NARRATIVE",
            "<the personal narrative>", "", "Reply with the NARRATIVE block only."]
    return [messages[0], {"role": "user", "content": body + "\n" + "\n".join(tail) + "\n"}]


def parse_narrative(text: str) -> str:
    """The narrative of call 2: a JSON reply's ``narrative``, the text after a NARRATIVE header,
    or else the whole reply."""
    with contextlib.suppress(ValueError):
        obj = json.loads(text.strip().removeprefix("```json").strip("`").strip())
        if isinstance(obj, dict) and isinstance(obj.get("narrative"), str):
            text = "NARRATIVE\n" + obj["narrative"]
    marks = list(_NARRATIVE.finditer(text))
    narrative = (text[marks[-1].end():] if marks else text).split("```", 1)[0].strip()
    if not narrative:
        raise ParseError("NARRATIVE is empty")
    if len(narrative) > compile_.NARRATIVE_CAP:
        raise ParseError(f"NARRATIVE is {len(narrative)} characters; the cap is {compile_.NARRATIVE_CAP}")
    return narrative
