"""A hostile narrator against real processes: `medium api` and `medium worker` subprocesses, a
real Postgres, and an OpenAI-compatible fake on a real socket that copies every secret its
prompt holds into world facts, action texts and interrupt reasons, every time, repair or not.

What must hold: no player receives any secret of anyone over REST or the WebSocket (the only
exception is a player's own narrative, which may use its owner's own secrets), and the GM
sees how many shared texts were redacted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml

from synthesis import store
from tests.acceptance import harness
from tests.acceptance.harness import Reader
from tests.hostile import MOS_EISLEY, HostileServer
from tests.integration.api_support import bearer
from tests.integration.helpers import Cast, make_frame

pytestmark = pytest.mark.acceptance

# Distinctive words of every private truth in the scenario, and of the narrator's membership
# claims. None of them is in any public text or in the actions the players commit below.
MARKERS = {
    "Kessa Vorn": ["left boot", "data chip", "owes a hutt"],
    "Dax Orrun": ["5,000-credit contract", "take her quietly"],
    "Tobin Reez": ["is the rebel contact", "strange flashes", "terrified"],
    "Gorrak": ["sells information", "breaks furniture"],
    "Sergeant Vell": ["vague description"],
    "Rebel Cell": ["must reach the contact", "dune sea", "rebel cell"],
    "Imperial Garrison": ["stolen from the garrison last night", "recover them quietly"],
    "Bounty Hunters' Guild": ["open contract", "posted by a hutt"],
    "membership": ["secretly a member"],
}
ALL_MARKERS = [m for ms in MARKERS.values() for m in ms]
ACTIONS = {
    "Kessa Vorn": "I slide into the corner booth with my back to the wall and watch the door",
    "Dax Orrun": "I lean on the bar and study every face in the room",
    "Tobin Reez": "I sit at the end of the bar and try not to stare at anyone",
}


def frame_spec() -> dict[str, Any]:
    spec = yaml.safe_load(MOS_EISLEY.read_text())
    spec.update(perceive=False, actor_budget_per_hour=0, name="Mos Eisley (hostile narrator)")
    return dict(spec)


def leaked(corpus: Any) -> list[str]:
    text = json.dumps(corpus).lower()
    return [m for m in ALL_MARKERS if m in text]


async def test_no_player_receives_any_secret(st: store.Store, db_url: str, tmp_path: Path) -> None:
    cast: Cast = await make_frame(st, frame_spec())
    players = {name: cast.users[name] for name in ACTIONS}
    with HostileServer() as llm:
        llm_env = {"MEDIUM_LLM": "openai:fake", "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "k"}
        async with harness.stack(db_url, tmp_path, worker_env=llm_env) as s:
            base, http, worker = s.base, s.http, s.worker
            readers = {name: await Reader.open(base, cast.frame_id, u) for name, u in players.items() if u}
            gm_reader = await Reader.open(base, cast.frame_id, cast.gm)
            for name, text in ACTIONS.items():
                user = players[name]
                assert user
                r = await http.post(f"/frames/{cast.frame_id}/liquid", headers=bearer(user), json={
                    "character_id": str(cast.ids[name]), "content": text, "commit": True, "pscale": -1})
                assert r.status_code == 201, r.text

            async def settled() -> bool:
                counts = await harness.window_counts(st, cast.frame_id)
                return counts.get("done", 0) >= len(ACTIONS) and not counts.get("open") and not counts.get("claimed")

            assert await harness.wait_until(settled, timeout=60), (worker.output()[-3000:],
                                                                   await harness.window_counts(st, cast.frame_id))
            assert "failed" not in await harness.window_counts(st, cast.frame_id)
            await asyncio.sleep(0.5)  # the last events reach the sockets

            outcomes = await st.outcomes(cast.frame_id)
            solids = await st.solids(cast.frame_id)
            assert len(outcomes) >= len(ACTIONS)  # plus the interrupt windows the narrator caused
            for name, user in players.items():
                assert user
                reader = readers[name]
                own = str(cast.ids[name])
                mine = [n for n in reader.of("narrative") if n["character_id"] == own]
                shared_ws = [m for m in reader.messages if not (
                    m["type"] in ("narrative", "narrative_delta") and m["data"]["character_id"] == own)]
                rest = {path: (await http.get(f"/frames/{cast.frame_id}/{path}", headers=bearer(user))).json()
                        for path in ("outcomes", "timers")}
                assert len(rest["outcomes"]) == len(outcomes)
                assert len(reader.of("outcome")) == len(outcomes)
                assert leaked(shared_ws) == []
                assert leaked(rest) == []
                assert all(o["redacted"] is None for o in rest["outcomes"])  # the count is the GM's
                # The narrator did have this player's secrets, and used them where allowed.
                assert mine
                assert any(m in json.dumps(mine).lower() for m in MARKERS[name])
                solid_rest = (await http.get(f"/frames/{cast.frame_id}/solid", headers=bearer(user))).json()
                assert {n["character_id"] for n in solid_rest} == {own}

            gm_outcomes = (await http.get(f"/frames/{cast.frame_id}/outcomes", headers=bearer(cast.gm))).json()
            assert all(o["redacted"] >= 1 for o in gm_outcomes), gm_outcomes
            assert leaked(gm_outcomes) == []
            assert len(gm_reader.of("outcome")) == len(outcomes)
            for r in [*readers.values(), gm_reader]:
                await r.close()
            # Every window with an action (one outcome each) was refused and repaired once, and
            # the repair leaked too; a woken character with no action writes no outcome: 1 call.
            assert llm.requests == 2 * len(outcomes) + (len(solids) - len(outcomes))
            redacted = sum(o["redacted"] for o in gm_outcomes)
            print(f"hostile narrator: {len(solids)} windows, {len(outcomes)} outcomes, "
                  f"{llm.requests} calls, {redacted} shared texts redacted")
            assert {UUID(o["id"]) for o in gm_outcomes} == {o.id for o in outcomes}
