"""A JSON-mode narrative streams through a real synthesis: the openai adapter (the real SDK)
against an OpenAI-format SSE server on a real socket, a real database. The narrative's deltas
reach ``on_delta`` and the owner's ``narrative_delta`` NOTIFYs while the reply is still
streaming, and they join to the narrative that was parsed and stored."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from synthesis import liquid, medium, scenario, store
from synthesis.clock import FakeClock
from synthesis.llm.registry import Registry
from synthesis.narrative_stream import DELTA_CHANNEL
from synthesis.settings import Settings
from tests.unit.llm_server import LLMServer, Reply, openai_stream

ACTION = "I slide into the corner booth and watch the door"
NARRATIVE = ('You slide into the corner booth, your back to the wall.\nThe door stays shut — for now. '
             '"Not tonight," you mutter, and the band plays on.')


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as running:
        yield running


async def test_a_json_narrative_streams_before_the_reply_ends(st: store.Store, db_url: str,
                                                              server: LLMServer) -> None:
    inst = await scenario.install(st, scenario.load_scenario_file(scenario.MOS_EISLEY))
    kessa = next(c for c in inst.characters if c.name == "Kessa Vorn")
    clock = FakeClock()
    await liquid.submit(st, None, frame_id=inst.frame_id, character_id=kessa.id, content=ACTION,
                        now=clock.now(), user_id=kessa.user_id, commit=True, pscale=-2)
    clock.advance(10)
    [w] = await st.claim_due_windows(clock.now(), limit=5, worker_id="t", lease_seconds=30)
    inp, _ = await medium.prepare(st, inst.frame_id, w.id)
    reply = json.dumps({"outcome": {"actions_resolved": [{"character": inp.handle, "action": ACTION,
                                                          "result": "success"}],
                                    "world_facts": [], "interrupts": [], "involved": []},
                        "narrative": NARRATIVE})  # ensure_ascii: "—" travels as \u2014
    chunks = [reply[i:i + 6] for i in range(0, len(reply), 6)]
    server.enqueue(Reply(events=openai_stream(chunks, usage=(900, 80, 512)), event_delay=0.01))

    registry = Registry(Settings(MEDIUM_LLM="openai:gpt-4o-mini", OPENAI_BASE_URL=server.openai_base_url,
                                 OPENAI_API_KEY="sk-test"))
    deltas: list[tuple[float, str]] = []
    notified: list[dict[str, Any]] = []
    conn = await store.connect(db_url)
    try:
        await conn.add_listener(DELTA_CHANNEL, lambda *a: notified.append(json.loads(a[3])))
        res = await medium.synthesize(st, registry, inst.frame_id, w.id, now=clock.now(), live=True,
                                      on_delta=lambda text: deltas.append((time.monotonic(), text)))
        [solid] = await st.solids(inst.frame_id)
        for _ in range(100):  # NOTIFYs arrive asynchronously
            if "".join(d["text"] for d in notified) == solid.narrative:
                break
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
        await registry.aclose()

    assert res.routed
    assert not res.repaired
    assert solid.narrative == NARRATIVE
    assert len(deltas) > 10
    assert "".join(text for _, text in deltas) == solid.narrative
    sent = server.sent_at
    assert deltas[0][0] < sent[-1]  # the first narrative token arrived before the reply ended
    assert sum(at < deltas[0][0] for at in sent) < len(sent) - 10
    assert "".join(d["text"] for d in notified) == solid.narrative
    assert [d["seq"] for d in notified] == list(range(1, len(notified) + 1))
    assert "actions_resolved" not in json.dumps(notified)
    body = server.requests[0].json
    assert body["stream"] is True
    assert body["response_format"]["type"] == "json_schema"
    assert res.timings["first_token"] < res.timings["gather"] + res.timings["llm"]
    assert (solid.prompt_tokens, solid.completion_tokens) == (900, 80)  # from the usage chunk
