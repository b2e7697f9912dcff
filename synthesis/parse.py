"""Strict parsing of a Medium's output (text blocks or JSON) into ``MediumOutput``.

Violations raise ``ParseError`` whose message names the problem; the caller makes one repair
call quoting it. Validation: every handle exists in the frame, the character's own action is
resolved (in shared mode, every action committed in the window), results are in the enum,
interrupt targets are valid and not self, the narrative is non-empty and within the cap.
Nothing is written on a parse failure.

The shared layer (DESIGN §4, "the boundary holds on the way out too"):

* an outcome resolves only its own window's actions: an entry for another character's action
  is dropped, and that character is listed in ``characters_involved`` instead;
* a result already written for one of those actions in an outcome the Medium can see
  (``inp.resolved_outcomes``) binds it;
* ``synthesis.guard`` finds private truth or a secret membership in a shared text.

A structurally valid output that breaks the last two raises ``OutcomeRefused``, a
``ParseError`` that names the problem without quoting any secret, and carries the parsed
output: when the repair breaks them too, ``enforce`` redacts and binds it instead of failing.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from synthesis import guard, quality
from synthesis.compile import NARRATIVE_CAP
from synthesis.errors import OutcomeRefused, ParseError
from synthesis.types import (
    RESULTS,
    ActionOutcome,
    Interrupt,
    MediumInput,
    MediumOutput,
    ResolvedAction,
)

_HEADER = re.compile(r"^[ \t#*_>`-]*(OUTCOME|NARRATIVE)[ \t*_:`]*$", re.MULTILINE | re.IGNORECASE)
_SUB = re.compile(r"^\s*(actions_resolved|world_facts|interrupts|involved)\s*:\s*$", re.IGNORECASE)
# A Markdown code fence line (```, ```text): models often wrap the blocks in one. The closing
# fence ends the NARRATIVE, so neither it nor prose after it reaches the player.
_FENCE = re.compile(r"^[ \t]*```[\w-]*[ \t]*$", re.MULTILINE)


def _handle(raw: str, inp: MediumInput, where: str) -> UUID:
    h = raw.strip().strip("[]").strip().lower()
    if h not in inp.handles:
        raise ParseError(f"{where}: unknown character handle {raw.strip()!r}; valid handles: "
                         f"{', '.join(sorted(inp.handles))}")
    return inp.handles[h]


def _result(raw: str, where: str) -> str:
    r = raw.strip().strip(".").lower()
    if r not in RESULTS:
        raise ParseError(f"{where}: result {raw.strip()!r} is not one of {', '.join(RESULTS)}")
    return r


def _validate(actions: list[tuple[str, str, str]], facts: list[str],
              interrupts: list[tuple[str, str]], involved: list[str], narrative: str,
              inp: MediumInput) -> MediumOutput:
    narrative = narrative.strip()
    if not narrative:
        raise ParseError("NARRATIVE is empty")
    if len(narrative) > NARRATIVE_CAP:
        raise ParseError(f"NARRATIVE is {len(narrative)} characters; the cap is {NARRATIVE_CAP}")
    resolved = [ResolvedAction(character_id=_handle(h, inp, f"actions_resolved[{i}]"),
                               action=a.strip(), result=_result(r, f"actions_resolved[{i}]"))  # type: ignore[arg-type]
                for i, (h, a, r) in enumerate(actions)]
    ints = []
    for i, (h, reason) in enumerate(interrupts):
        target = _handle(h, inp, f"interrupts[{i}]")
        if target == inp.character_id:
            raise ParseError(f"interrupts[{i}]: a character cannot interrupt itself")
        ints.append(Interrupt(target_character_id=target, reason=reason.strip()))
    extra = [_handle(h, inp, f"involved[{i}]") for i, h in enumerate(involved)]
    own = {inp.character_id, *(a.character_id for a in inp.my_action)}
    extra += [r.character_id for r in resolved if r.character_id not in own]
    resolved = [r for r in resolved if r.character_id in own]
    quality.check(narrative, [(f"actions_resolved[{i}].action", a) for i, (_, a, _) in enumerate(actions)]
                  + [(f"world_facts[{i}]", f) for i, f in enumerate(facts)]
                  + [(f"interrupts[{i}].reason", r) for i, (_, r) in enumerate(interrupts) if r.strip()], inp)
    outcome = None
    if inp.my_action:
        if inp.mode == "shared":  # one Medium resolves every action committed in its window
            done = {r.character_id for r in resolved}
            missing = list(dict.fromkeys(a.handle for a in inp.my_action if a.character_id not in done))
            if missing:
                raise ParseError("actions_resolved does not resolve the action of "
                                 + ", ".join(missing) + "; resolve every action under ACTIONS TO RESOLVE")
        elif not any(r.character_id == inp.character_id for r in resolved):
            raise ParseError(f"actions_resolved does not resolve {inp.handle}'s own action")
        seen: list[UUID] = []
        for cid in [inp.character_id, *(r.character_id for r in resolved),
                    *(x.target_character_id for x in ints), *extra]:
            if cid not in seen:
                seen.append(cid)
        outcome = ActionOutcome(actions_resolved=resolved, world_facts=[f.strip() for f in facts if f.strip()],
                                characters_involved=seen, interrupts=ints)
    incorporated = [o.outcome_id for o in inp.resolved_outcomes] + list(inp.summarised_outcome_ids)
    out = MediumOutput(outcome=outcome, narrative=narrative, outcomes_incorporated=incorporated)
    if outcome is not None:
        _refuse_if_unshareable(out, outcome, inp)
    return out


def bound_results(outcome: ActionOutcome, inp: MediumInput) -> dict[int, tuple[str, int]]:
    """{actions_resolved index: (result, outcome seq)} for every entry whose action already has
    a result in an outcome this Medium can see. An entry is matched to an earlier one of the
    same character when that character has exactly one of each, else by shared words."""
    earlier: dict[Any, list[tuple[set[str], str, int]]] = {}
    for o in inp.resolved_outcomes:
        for a in o.actions:
            cid = inp.handles.get(a.get("handle", ""))
            if cid is not None and a.get("result") in RESULTS:
                earlier.setdefault(cid, []).append(
                    (guard.content(guard.tokens(a.get("action", ""))), a["result"], o.seq))
    submitted = {a.character_id: guard.content(guard.tokens(a.text)) for a in inp.my_action}
    out: dict[int, tuple[str, int]] = {}
    for i, r in enumerate(outcome.actions_resolved):
        prior = earlier.get(r.character_id, [])
        if not prior:
            continue
        mine = [x for x in outcome.actions_resolved if x.character_id == r.character_id]
        if len(prior) == 1 and len(mine) == 1:
            out[i] = (prior[0][1], prior[0][2])
            continue
        words = guard.content(guard.tokens(r.action)) | submitted.get(r.character_id, set())
        score, best = max(((len(words & w) / max(1, len(w)), (res, seq)) for w, res, seq in prior),
                          key=lambda t: t[0])
        if score >= 0.5:
            out[i] = best
    return out


def _refuse_if_unshareable(out: MediumOutput, outcome: ActionOutcome, inp: MediumInput) -> None:
    bound = bound_results(outcome, inp)
    binds = {i: res for i, (res, _) in bound.items() if outcome.actions_resolved[i].result != res}
    leaks = guard.check(outcome, guard.build(inp), inp.character_id)
    if not binds and not leaks:
        return
    problems = [f.describe() for f in leaks]
    problems += [f"actions_resolved[{i}] contradicts outcome #{bound[i][1]}, which already resolved "
                 f"this action as {res}: use {res}" for i, res in binds.items()]
    raise OutcomeRefused(
        "the OUTCOME is shared with every character and must hold only what an onlooker could "
        "observe, consistent with results already written: " + "; ".join(problems)
        + ". Private knowledge belongs in the NARRATIVE only.",
        output=out, leaks=leaks, binds=binds)


def enforce(refused: OutcomeRefused, inp: MediumInput) -> MediumOutput:
    """The refused output made shareable without another call: every leaking text redacted
    (``MediumOutput.redacted`` counts them) and every bound result restored."""
    out: MediumOutput = refused.output
    if out is None or out.outcome is None:
        raise ValueError("enforce needs a refusal that carries a parsed outcome")
    outcome = guard.redact(out.outcome, refused.leaks, inp)
    actions = [a.model_copy(update={"result": refused.binds[i]}) if i in refused.binds else a
               for i, a in enumerate(outcome.actions_resolved)]
    return out.model_copy(update={"outcome": outcome.model_copy(update={"actions_resolved": actions}),
                                  "redacted": out.redacted + len(refused.leaks)})


def parse_text(text: str, inp: MediumInput) -> MediumOutput:
    marks = list(_HEADER.finditer(text))
    outcome_at = next((m for m in marks if m.group(1).upper() == "OUTCOME"), None)
    narrative_at = next((m for m in marks if m.group(1).upper() == "NARRATIVE"
                         and (outcome_at is None or m.start() > outcome_at.start())), None)
    if narrative_at is None:
        raise ParseError("no NARRATIVE block found")
    if outcome_at is None and inp.my_action:
        raise ParseError("no OUTCOME block found")
    block = text[outcome_at.end():narrative_at.start()] if outcome_at else ""
    narrative = _FENCE.split(text[narrative_at.end():], maxsplit=1)[0]
    actions: list[tuple[str, str, str]] = []
    facts: list[str] = []
    interrupts: list[tuple[str, str]] = []
    involved: list[str] = []
    section = None
    for n, raw in enumerate(block.splitlines(), 1):
        line = raw.strip()
        if not line or _FENCE.match(line):
            continue
        sub = _SUB.match(line)
        if sub:
            section = sub.group(1).lower()
            continue
        if not line.startswith(("-", "*")):
            raise ParseError(f"OUTCOME line {n}: expected '- ...' under a section, got {line[:60]!r}")
        item = line[1:].strip()
        if section == "actions_resolved":
            parts = [p.strip() for p in item.split("|")]
            if len(parts) != 3:
                raise ParseError(f"actions_resolved: expected 'handle | action | result', got {item[:60]!r}")
            actions.append((parts[0], parts[1], parts[2]))
        elif section == "world_facts":
            facts.append(item)
        elif section == "interrupts":
            if item.lower() in ("none", "(none)"):
                continue
            h, _, reason = item.partition("|")
            interrupts.append((h, reason))
        elif section == "involved":
            if item.lower() not in ("none", "(none)"):
                involved.append(item)
        else:
            raise ParseError(f"OUTCOME line {n}: item outside any section: {item[:60]!r}")
    return _validate(actions, facts, interrupts, involved, narrative, inp)


def _json_object(text: str) -> dict[str, Any]:
    """The reply's JSON object. Prose around it may contain braces ("in {json} form:"), so
    every ``{`` is a candidate: the first that decodes to an object with an ``outcome`` or
    ``narrative`` key wins. Otherwise the first candidate decides (its decode error or the
    object itself), so a truncated reply reports "invalid JSON", not a fragment of it."""
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch == "{"]
    if not starts:
        raise ParseError("no JSON object found")
    first: Any = None
    first_error: json.JSONDecodeError | None = None
    for n, start in enumerate(starts):
        try:
            obj, _ = decoder.raw_decode(text[start:])
        except json.JSONDecodeError as exc:
            if n == 0:
                first_error = exc
            continue
        if isinstance(obj, dict) and ("outcome" in obj or "narrative" in obj):
            return obj
        if n == 0:
            first = obj
    if first_error is not None:
        raise ParseError(f"invalid JSON: {first_error.msg} at character {first_error.pos}")
    if not isinstance(first, dict):
        raise ParseError("the JSON value is not an object")
    return first


def parse_json(text: str, inp: MediumInput) -> MediumOutput:
    obj = _json_object(text)
    out = obj.get("outcome") or {}
    if not isinstance(out, dict):
        raise ParseError("outcome must be an object")

    def items(key: str) -> list[Any]:
        v = out.get(key) or []
        if not isinstance(v, list):
            raise ParseError(f"outcome.{key} must be a list")
        return v

    actions = []
    for i, a in enumerate(items("actions_resolved")):
        if not isinstance(a, dict):
            raise ParseError(f"actions_resolved[{i}] must be an object")
        actions.append((str(a.get("character", "")), str(a.get("action", "")), str(a.get("result", ""))))
    interrupts = [(str(x.get("target", "")), str(x.get("reason", ""))) if isinstance(x, dict)
                  else (str(x), "") for x in items("interrupts")]
    narrative = obj.get("narrative")
    if not isinstance(narrative, str):
        raise ParseError("narrative must be a string")
    return _validate(actions, [str(f) for f in items("world_facts")], interrupts,
                     [str(h) for h in items("involved")], narrative, inp)


def parse_output(text: str, inp: MediumInput, *, json_mode: bool) -> MediumOutput:
    return parse_json(text, inp) if json_mode else parse_text(text, inp)
