"""The optional stream: the scripted narrator streams at its configured latency through the
real wrappers, and only the NARRATIVE block of a Medium reply is forwarded; the streamed text
joins to the narrative that parse returns."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from synthesis import compile as compile_
from synthesis import medium
from synthesis.llm import scripted, wrappers
from synthesis.llm.base import stream
from synthesis.llm.scripted import Latency, ScriptedLLM
from synthesis.narrative_stream import NarrativeTap
from tests.hostile import mos_eisley_input

KESSA = "I slide into the corner booth with my back to the wall and watch the door"


def tap_all(reply: str, sizes: int, *, header: bool | None = True) -> str:
    out: list[str] = []
    tap = NarrativeTap(out.append, header=header)
    for i in range(0, len(reply), sizes):
        tap.feed(reply[i:i + sizes])
    tap.close()
    return "".join(out)


REPLY = ("OUTCOME\nactions_resolved:\n- k | sits | success\nworld_facts:\n- a fact\n"
         "NARRATIVE\n\nYou sit. The band plays.\n")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50, 1000])
def test_only_the_narrative_block_is_forwarded(size: int) -> None:
    assert tap_all(REPLY, size).strip() == "You sit. The band plays."
    fenced = "```text\n" + REPLY + "```\nHope this helps."
    assert tap_all(fenced, size).strip() == "You sit. The band plays."
    assert tap_all("NARRATIVE\nA `tick` mark", size) == "A `tick` mark"
    assert tap_all("no header at all", size) == ""


@pytest.mark.parametrize("size", [1, 4, 1000])
def test_a_narrative_only_reply(size: int) -> None:
    assert tap_all("You wait.\nThen you go.", size, header=None) == "You wait.\nThen you go."
    assert tap_all("NARRATIVE\nYou wait.", size, header=None) == "You wait."
    assert tap_all(REPLY, size, header=None).strip() == "You sit. The band plays."
    assert tap_all("One line", size, header=None) == "One line"


async def test_the_scripted_narrator_streams_through_the_wrappers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its sampled latency (500 ms here) is spread over the chunks: the narrator's own sleeps
    are recorded by a fake, so no time passes."""
    sleeps: list[float] = []
    loop = SimpleNamespace(time=lambda: sum(sleeps))  # a clock that only the sleeps advance

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr(scripted, "asyncio", SimpleNamespace(sleep=fake_sleep, get_running_loop=lambda: loop))
    llm = wrappers.wrap(ScriptedLLM(seed=1, latency=Latency("fixed", 0.5)), timeout=30, concurrency=2,
                        attempts=2)
    messages = compile_.compile_directive(mos_eisley_input("Kessa Vorn", KESSA))
    chunks: list[str] = []
    done = await stream(llm, messages, on_delta=chunks.append, model="m")
    assert len(chunks) > 10
    assert "".join(chunks) == done.text
    assert len(sleeps) == len(chunks)
    assert sum(sleeps) == pytest.approx(0.5)
    assert llm.calls == 1
    assert llm.completion_tokens == done.usage.completion_tokens


async def test_a_non_streaming_llm_yields_the_whole_text_once() -> None:
    from tests.unit.test_guard_repair import PromptLLM, clean

    chunks: list[str] = []
    done = await stream(PromptLLM(clean), [{"role": "user", "content": "x"}], on_delta=chunks.append, model="m")
    assert chunks == [done.text]


@pytest.mark.parametrize("mode", ["guarded", "blind"])
async def test_the_streamed_narrative_is_the_parsed_narrative(mode: str) -> None:
    inp = mos_eisley_input("Kessa Vorn", KESSA, others={"Dax Orrun": "I lean on the bar"})
    llm = ScriptedLLM(seed=2)
    deltas: list[str] = []
    if mode == "guarded":
        out, _, _ = await medium.complete_and_parse(llm, "m", compile_.compile_directive(inp), inp,
                                                    json_mode=False, on_narrative=deltas.append)
    else:
        out, _, _, _ = await medium.complete_blind(llm, "m", inp, json_mode=False, on_narrative=deltas.append)
    assert len(deltas) > 3
    assert "".join(deltas).strip() == out.narrative
    assert "OUTCOME" not in "".join(deltas)
    assert "actions_resolved" not in "".join(deltas)


async def test_the_publisher_coalesces_and_numbers_its_payloads() -> None:
    import asyncio
    import json
    import uuid

    from synthesis.errors import DatabaseUnavailable
    from synthesis.narrative_stream import MAX_DELTA_CHARS, DeltaPublisher

    sent: list[dict[str, object]] = []
    gate = asyncio.Event()

    async def send(payload: str) -> None:
        if not sent:
            await gate.wait()  # the first send is slow: what queues meanwhile goes out as one
        if json.loads(payload)["text"] == "boom":
            raise DatabaseUnavailable("listener gone")
        sent.append(json.loads(payload))

    ids = {k: uuid.uuid4() for k in ("frame_id", "window_id", "character_id", "user_id")}
    pub = DeltaPublisher(send, **ids)
    task = asyncio.create_task(pub.run())
    pub("You ")
    await asyncio.sleep(0)
    for word in ("sit ", "down ", "slowly."):
        pub(word)
    gate.set()
    await asyncio.sleep(0)
    pub("x" * (MAX_DELTA_CHARS + 5))
    pub.close()
    await task
    assert [(d["seq"], d["text"]) for d in sent[:2]] == [(1, "You "), (2, "sit down slowly.")]
    assert [len(str(d["text"])) for d in sent[2:]] == [MAX_DELTA_CHARS, 5]
    assert all(d["window_id"] == str(ids["window_id"]) and d["user_id"] == str(ids["user_id"]) for d in sent)

    dropped = DeltaPublisher(send, **ids)
    t = asyncio.create_task(dropped.run())
    dropped("boom")
    dropped.close()
    await t  # a failed send is dropped, never raised into the synthesis
    assert dropped.seq == 1
    assert dropped.sent == 0


def test_a_delta_reaches_its_owner_and_the_gm_only() -> None:
    import asyncio
    import json
    import uuid
    from dataclasses import dataclass, field

    from api import live

    @dataclass
    class C:
        user_id: uuid.UUID
        role: str
        sent: int = 7
        queue: asyncio.Queue[tuple[int, str]] = field(default_factory=lambda: asyncio.Queue(2))

    owner, other, gm = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    clients = [C(owner, "player"), C(owner, "player"), C(other, "player"), C(gm, "gm")]
    payload = {"frame_id": str(uuid.uuid4()), "window_id": str(uuid.uuid4()),
               "character_id": str(uuid.uuid4()), "user_id": str(owner), "seq": 1, "text": "You sit."}
    doc = live.parse(json.dumps(payload))
    assert doc is not None
    assert live.deliver(doc, clients) == 3
    assert clients[2].queue.empty()
    cursor, text = clients[0].queue.get_nowait()
    assert cursor == live.EPHEMERAL
    assert json.loads(text) == {"type": "narrative_delta", "cursor": 7, "data": {
        "window_id": payload["window_id"], "character_id": payload["character_id"], "seq": 1, "text": "You sit."}}
    npc = live.parse(json.dumps({**payload, "user_id": None}))
    assert npc is not None
    assert live.deliver(npc, clients) == 1
    for _ in range(3):
        live.deliver(doc, clients)  # a full queue drops the preview, raises nothing
    assert live.parse("{not json") is None
    assert live.parse(json.dumps({**payload, "seq": "x"})) is None
