"""The live narrative on a real database: a ``live`` synthesis sends its narrative as
``narrative_delta`` NOTIFYs while the model writes it; joined, they are the stored narrative;
nothing of the OUTCOME part is in them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from synthesis import liquid, medium, scenario, store
from synthesis.clock import FakeClock
from synthesis.narrative_stream import DELTA_CHANNEL
from tests.integration.helpers import scripted_registry


async def test_a_live_synthesis_streams_its_narrative(st: store.Store, db_url: str) -> None:
    inst = await scenario.install(st, scenario.load_scenario_file(scenario.MOS_EISLEY))
    kessa = next(c for c in inst.characters if c.name == "Kessa Vorn")
    clock = FakeClock()
    await liquid.submit(st, None, frame_id=inst.frame_id, character_id=kessa.id,
                        content="I slide into the corner booth and watch the door", now=clock.now(),
                        user_id=kessa.user_id, commit=True, pscale=-2)
    clock.advance(10)
    [w] = await st.claim_due_windows(clock.now(), limit=5, worker_id="t", lease_seconds=30)
    got: list[dict[str, Any]] = []
    conn = await store.connect(db_url)
    try:
        await conn.add_listener(DELTA_CHANNEL, lambda *a: got.append(json.loads(a[3])))
        reg = scripted_registry(MEDIUM_LLM_LATENCY="fixed:30ms")
        res = await medium.synthesize(st, reg, inst.frame_id, w.id, now=clock.now(), live=True)
        [s] = await st.solids(inst.frame_id)
        for _ in range(100):  # NOTIFYs arrive asynchronously; the last one was sent before routing
            if "".join(d["text"] for d in got).strip() == s.narrative:
                break
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    assert res.routed
    assert len(got) > 1
    assert [d["seq"] for d in got] == list(range(1, len(got) + 1))
    assert {(d["window_id"], d["character_id"], d["user_id"]) for d in got} == {
        (str(w.id), str(kessa.id), str(kessa.user_id))}
    assert "".join(d["text"] for d in got).strip() == s.narrative
    assert "actions_resolved" not in json.dumps(got)
