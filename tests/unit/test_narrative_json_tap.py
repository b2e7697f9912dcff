"""The JSON narrative tap: a JSON reply cut anywhere, however its escapes fall across the cuts,
yields exactly the narrative ``json.loads`` reads, and only that; the schema asks for the
outcome first, so the narrative streams once the outcome is written."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis import compile as compile_
from synthesis.llm import schema as schemas
from synthesis.narrative_stream import DeltaPublisher, JsonNarrativeTap
from tests.hostile import mos_eisley_input

# Every character, lone surrogates included (json.dumps escapes them, json.loads keeps them).
TEXT = st.text(st.characters(exclude_categories=()), max_size=60)
LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=8)


@st.composite
def replies(draw: st.DrawFn) -> tuple[str, str]:
    """(reply, its narrative): an object with `narrative` among other keys (a decoy
    `narrative` nested inside them), encoded either way, maybe inside prose and a fence."""
    narrative = draw(TEXT)
    outcome = draw(st.dictionaries(TEXT, JSON, max_size=3))
    outcome["narrative"] = draw(TEXT)  # nested: never forwarded
    extra = draw(st.dictionaries(TEXT.filter(lambda k: k not in ("narrative", "outcome")), JSON, max_size=2))
    items: list[tuple[str, Any]] = [("outcome", outcome), *extra.items()]
    items.insert(draw(st.integers(0, len(items))), ("narrative", narrative))
    body = json.dumps(dict(items), ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
    before = draw(st.sampled_from(["", "```json\n", 'Here it is, in {json} form: "', "[1] "]))
    return before + body + draw(st.sampled_from(["", "\n```", " Hope {this} helps."])), narrative


def tapped(reply: str, cuts: list[int]) -> list[str]:
    out: list[str] = []
    tap = JsonNarrativeTap(out.append)
    bounds = [0, *sorted(set(cuts)), len(reply)]
    for a, b in itertools.pairwise(bounds):
        tap.feed(reply[a:b])
    tap.close()
    return out


@settings(max_examples=400, deadline=None)
@given(replies(), st.lists(st.integers(0, 2000), max_size=40))
def test_any_chunking_yields_the_narrative_json_loads_reads(case: tuple[str, str], cuts: list[int]) -> None:
    reply, narrative = case
    cuts = [c % (len(reply) + 1) for c in cuts]
    out = tapped(reply, cuts)
    assert "".join(out) == narrative
    assert all(out)  # never an empty emit


@pytest.mark.parametrize("size", [1, 2, 5, 1000])
def test_escapes_split_across_chunks(size: int) -> None:
    narrative = 'You say "halt".\nThe droid\\s eye — 😀 — blinks.\t\ud83d'
    reply = json.dumps({"outcome": {"world_facts": ["a \"fact\""]}, "narrative": narrative})
    assert "\\ud83d\\ude00" in reply
    assert "\\u2014" in reply
    out = tapped(reply, list(range(size, len(reply), size)))
    assert "".join(out) == narrative


def test_escapes_json_dumps_never_writes() -> None:
    reply = r'{"note": "\"narrative\": \"no\"", "narr\u0061tive" : "a\/b\b\f\r\u00e9\uD83D\uDE00\ude00"}'
    assert "".join(tapped(reply, [29, 31, 47, 52, 60])) == json.loads(reply)["narrative"] == "a/b\b\f\ré😀\ude00"


def test_the_narrative_streams_before_the_reply_ends() -> None:
    reply = json.dumps({"outcome": {"actions_resolved": []}, "narrative": "You wait. Then you go."})
    out: list[str] = []
    tap = JsonNarrativeTap(out.append)
    tap.feed(reply[: reply.index("Then")])
    assert out == ["You wait. "]
    tap.feed(reply[reply.index("Then"):])
    assert "".join(out) == "You wait. Then you go."
    assert tap.done


def test_a_non_string_narrative_and_no_object_yield_nothing() -> None:
    assert tapped('{"narrative": null, "outcome": {"narrative": "x"}}', [3, 9]) == []
    assert tapped("no JSON here", []) == []
    assert tapped('{"narrative": 3, "x": "y"}', []) == []


def test_every_schema_form_asks_for_the_outcome_before_the_narrative() -> None:
    """Providers write keys in schema order: the outcome is decided first and the narrative,
    which streams, follows it."""
    import anthropic

    schema = compile_.output_schema(mos_eisley_input("Kessa Vorn", "I watch the door"))
    for form in (schema, schemas.strict_schema(schema), schemas.clamped_schema(schema),
                 anthropic.transform_schema(schema)):
        assert list(form["properties"]) == ["outcome", "narrative"]
        assert form["required"] == ["outcome", "narrative"]


async def test_the_publisher_starts_over_after_a_restart() -> None:
    sent: list[dict[str, Any]] = []

    async def send(payload: str) -> None:
        sent.append(json.loads(payload))

    ids = {k: uuid.uuid4() for k in ("frame_id", "window_id", "character_id")}
    publisher = DeltaPublisher(send, user_id=None, **ids)
    running = asyncio.create_task(publisher.run())
    publisher("You ste")
    await asyncio.sleep(0.01)
    publisher("p in")
    publisher.restart()  # "p in" was not sent yet: dropped
    publisher("You step ")
    publisher("inside.")
    publisher.close()
    await running
    assert [(d["seq"], d["text"]) for d in sent] == [(1, "You ste"), (1, "You step inside.")]
