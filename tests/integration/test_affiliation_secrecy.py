"""On the packaged Mos Eisley, the Rebel Cell has only hidden members (Kessa and Tobin). Dax's
player must not learn that it exists from any API: every GET route of the OpenAPI document,
the WebSocket, and the database itself under RLS (what Supabase's Data API would serve). The
GM, and the cell's own members, can."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from websockets.asyncio.client import connect

from synthesis import medium, scenario
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from tests.hostile import MOS_EISLEY
from tests.integration.api_support import bearer, recv_json, running_api, serving, ws_url

SECRET_WORDS = ("rebel cell", "no one admits to being part of any rebel group")


async def _play_a_round(api: Any, inst: scenario.Installed) -> None:
    """Every player commits an action; every window is synthesized by the scripted narrator."""
    for ch in inst.characters:
        if ch.user_id is None:
            continue
        r = await api.client.post(f"/frames/{inst.frame_id}/liquid", headers=bearer(ch.user_id), json={
            "character_id": str(ch.id), "content": "I look around the cantina", "commit": True})
        assert r.status_code == 201, r.text
    registry = Registry(Settings(MEDIUM_LLM="scripted"))
    later = datetime.now(UTC) + timedelta(hours=1)
    try:
        while claimed := await api.st.claim_due_windows(later, limit=10, worker_id="t", lease_seconds=60):
            for w in claimed:
                await medium.synthesize(api.st, registry, w.frame_id, w.id, now=later)
    finally:
        await registry.aclose()


def _urls(spec: dict[str, Any], frame_id: UUID, character_ids: list[UUID], solid_ids: list[UUID]) -> list[str]:
    """Every GET route a player might call, with every id of this frame filled in."""
    out: list[str] = []
    for path, ops in spec["paths"].items():
        if "get" not in ops or any(p.get("required") and p["in"] == "query"
                                   for p in ops["get"].get("parameters", [])):
            continue
        urls = [path.replace("{frame_id}", str(frame_id))]
        if "{character_id}" in path:
            urls = [u.replace("{character_id}", str(c)) for u in urls for c in character_ids]
        if "{solid_id}" in path:
            urls = [u.replace("{solid_id}", str(s)) for u in urls for s in solid_ids]
        out += urls
    return out


def _leaks(text: str) -> list[str]:
    return [w for w in SECRET_WORDS if w in text.lower()]


async def test_dax_cannot_learn_the_rebel_cell_exists_and_the_gm_can(db_url: str) -> None:
    async with running_api(db_url) as api:
        inst = await scenario.install(api.st, scenario.load_scenario_file(MOS_EISLEY))
        by_name = {c.name: c for c in inst.characters}
        dax, kessa = by_name["Dax Orrun"].user_id, by_name["Kessa Vorn"].user_id
        assert dax
        assert kessa
        await _play_a_round(api, inst)
        spec = (await api.client.get("/openapi.json")).json()
        solid_ids = [s.id for s in await api.st.solids(inst.frame_id)]
        urls = _urls(spec, inst.frame_id, [c.id for c in inst.characters], solid_ids)
        assert len(urls) >= 15
        assert any(u.endswith("/affiliations") for u in urls)

        answered = 0
        for url in urls:
            r = await api.client.get(url, headers=bearer(dax))
            assert not _leaks(r.text), (url, r.text[:500])
            answered += r.status_code == 200
        assert answered >= 8  # the crawl reached real views, not only refusals

        gm_view = (await api.client.get(f"/frames/{inst.frame_id}/affiliations", headers=bearer(inst.gm_user_id)))
        assert "Rebel Cell" in {a["name"] for a in gm_view.json()}
        kessa_view = (await api.client.get(f"/frames/{inst.frame_id}/affiliations", headers=bearer(kessa)))
        assert "Rebel Cell" in {a["name"] for a in kessa_view.json()}

        # The database under RLS, as Dax: what the Data API would serve him.
        async with api.st.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('request.jwt.claims', $1, true)",
                               json.dumps({"sub": str(dax), "role": "authenticated"}))
            await conn.execute("SET LOCAL ROLE authenticated")
            names = [r["name"] for r in await conn.fetch("SELECT name FROM public.affiliations")]
            joined = await conn.fetch("SELECT affiliation_id FROM public.memberships")
        assert "Rebel Cell" not in names
        assert "Bounty Hunters' Guild" in names
        cell = next(a["id"] for a in gm_view.json() if a["name"] == "Rebel Cell")
        assert str(cell) not in {str(r["affiliation_id"]) for r in joined}

        # The WebSocket: the snapshot and the backlog Dax receives.
        async with serving(api.app) as base, connect(ws_url(base, inst.frame_id, dax)) as ws:
            seen = []
            try:
                while True:
                    seen.append(await recv_json(ws, timeout=1.0))
            except TimeoutError:
                pass
        assert seen
        assert not _leaks(json.dumps(seen))
