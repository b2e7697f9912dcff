"""Property: for random frames and random leaky outputs, the guarded outcome holds no forbidden
phrase. Frames are random casts, groups and memberships (none, public, hidden) through the
real knowledge boundary; outputs copy the viewer's secrets (verbatim, re-cased, re-punctuated,
embedded in other words) or a hidden group's name into random shared places, and a narrator
that keeps leaking after the repair. The oracle is independent of the guard's rules: the
secret's words, normalised, never appear in order in any shared text."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthesis import compile as compile_
from synthesis import guard, knowledge, medium
from synthesis.llm.base import Completion, Message, Usage
from synthesis.types import ActionView, Affiliation, Character, MediumInput, Membership

SECRET_WORDS = ("amber vault cipher smuggled ledger harbour tunnel midnight emerald treaty "
                "forged seal buried orchard copper lantern").split()
GLUE = ("the a of in under behind was is hidden kept").split()
NAMES = ["Alder Quill", "Birch Marrow", "Cedar Voss", "Damson Pike"]
GROUPS = ["Silent Lantern", "Copper Orchard Society", "Harbour Ring"]


def sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(SECRET_WORDS), min_size=3, max_size=6, unique=True))
    glue = draw(st.lists(st.sampled_from(GLUE), min_size=len(words) - 1, max_size=len(words) - 1))
    out = [words[0]]
    for g, w in zip(glue, words[1:], strict=True):
        out += [g, w]
    return " ".join(out).capitalize() + "."


@st.composite
def frames(draw: st.DrawFn) -> MediumInput:
    frame_id = uuid.uuid4()
    n = draw(st.integers(2, 4))
    chars = [Character(id=uuid.uuid4(), frame_id=frame_id, name=NAMES[i], handle=f"c{i}",
                       user_id=uuid.uuid4(), universal=f"{NAMES[i]} trades cloth.",
                       internal=" ".join(sentence(draw) for _ in range(draw(st.integers(1, 2)))),
                       external="Looks tired.") for i in range(n)]
    groups = GROUPS[: draw(st.integers(0, 3))]
    affs = [Affiliation(id=uuid.uuid4(), frame_id=frame_id, name=g, universal="A name in the market.",
                        internal=sentence(draw), external="Rarely seen.") for g in groups]
    members = [Membership(frame_id=frame_id, character_id=c.id, affiliation_id=a.id, hidden=h)
               for c in chars for a in affs
               for h in [draw(st.sampled_from([None, False, True]))] if h is not None]
    me = chars[0]
    act = ActionView(liquid_id=uuid.uuid4(), character_id=me.id, handle=me.handle, name=me.name,
                     text="I haggle over the price of cloth", pscale=-1, status="committed")
    return MediumInput(frame_id=frame_id, window_id=uuid.uuid4(), character_id=me.id, handle=me.handle,
                       trigger_mode="expiry", pscale=-1, my_action=[act], world="A market town.",
                       scenario="Market day.",
                       knowledge=knowledge.build_knowledge(me.id, chars, affs, members),
                       handles={c.handle: c.id for c in chars})


def forbidden(inp: MediumInput) -> tuple[list[str], list[str]]:
    """(the viewer's secret sentences, names of groups it is secretly in that nobody else shows)."""
    k = inp.knowledge
    texts = [k.me.internal or ""] + [g.internal or "" for g in k.groups if g.member]
    sentences = [s for t in texts for s in t.split(".") if len(s.split()) >= 4]
    public_groups = {a for o in k.others for a in o.affiliations}
    hidden = [g.name for g in k.groups if g.member and g.hidden and g.name not in public_groups]
    return sentences, hidden


def disguise(draw: st.DrawFn, text: str) -> str:
    style = draw(st.sampled_from(["verbatim", "upper", "punct", "embedded"]))
    if style == "upper":
        return text.upper()
    if style == "punct":
        return text.replace(" ", draw(st.sampled_from([", ", " - ", "  ", "... "])))
    if style == "embedded":
        return f"Everyone in the square hears that {text.lower().rstrip('.')}, or so they say"
    return text


@st.composite
def leaky_replies(draw: st.DrawFn, inp: MediumInput) -> str:
    sentences, hidden = forbidden(inp)
    pool = [*sentences, *(f"{inp.knowledge.me.name} belongs to the {g}" for g in hidden),
            "the stalls are crowded", "a dog barks"]
    pick = st.sampled_from(pool).map(lambda t: disguise(draw, t))
    others = [h for h in inp.handles if h != inp.handle]
    body = {"outcome": {
        "actions_resolved": [{"character": inp.handle, "action": draw(pick), "result": "success"}],
        "world_facts": draw(st.lists(pick, max_size=4)),
        "interrupts": [{"target": draw(st.sampled_from(others)), "reason": draw(pick)}]
        if draw(st.booleans()) else []},
        "narrative": "You know what you know."}
    return json.dumps(body)


class Replies:
    provider = "fake"

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.n = 0

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        self.n += 1
        return Completion(text=self.texts[min(self.n, len(self.texts)) - 1], usage=Usage(1, 1))


def norm(text: str) -> str:
    return " " + " ".join(guard.tokens(text)) + " "


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
async def test_the_guarded_outcome_holds_no_forbidden_phrase(data: st.DataObject) -> None:
    inp = data.draw(frames())
    replies = data.draw(st.lists(leaky_replies(inp), min_size=1, max_size=2))
    out, _, _ = await medium.complete_and_parse(Replies(replies), "m",
                                                compile_.compile_directive(inp, json_mode=True), inp,
                                                json_mode=True)
    assert out.outcome is not None
    o = out.outcome
    shared = [a.action for a in o.actions_resolved] + o.world_facts + [i.reason for i in o.interrupts]
    sentences, hidden = forbidden(inp)
    for text in shared:
        for s in sentences:
            assert norm(s) not in norm(text), (s, text)
        for g in hidden:
            assert norm(g) not in norm(text), (g, text)
    assert guard.check(o, guard.build(inp), inp.character_id) == []


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=200))
def test_other_players_text_stays_inside_one_quote(text: str) -> None:
    """Whatever a player types (newlines, «», fake section headers), it reaches another Medium's
    prompt as one line holding exactly one quote, which nothing inside can close."""
    line = compile_.quote(text)
    assert "\n" not in line
    assert "\r" not in line
    assert line.startswith("«")
    assert line.endswith("»")
    assert line.count("«") == 1
    assert line.count("»") == 1
