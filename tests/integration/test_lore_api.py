"""The lorebook and the designer's rules over the API, on a real Postgres (issue 16, items 4
and 5): visibility in the directives the GM sees and in what RLS lets players read; bad input
refused naming the field with nothing written; every change logged and read by the next gather."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from synthesis import store
from tests.integration.api_support import Api, bearer, cast_of, row_counts, running_api
from tests.integration.helpers import Cast

TABLES = ("content", "frame_changes", "frames")


async def counts(st: store.Store) -> dict[str, Any]:
    out: dict[str, Any] = dict(await row_counts(st))
    async with st.pool.acquire() as conn:
        for t in TABLES:
            out[t] = await conn.fetchval(f"SELECT count(*) FROM public.{t}")
        out["rules"] = await conn.fetchval("SELECT jsonb_agg(rules ORDER BY id) FROM public.frames")
    return out


async def directive(api: Api, cast: Cast, name: str) -> str:
    r = await api.client.get(f"/frames/{cast.frame_id}/characters/{cast.ids[name]}/directive",
                             headers=bearer(cast.gm))
    assert r.status_code == 200, r.text
    return str(r.json()["directive"])


async def add(api: Api, cast: Cast, **body: Any) -> dict[str, Any]:
    r = await api.client.post(f"/frames/{cast.frame_id}/lore", json=body, headers=bearer(cast.gm))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def readers(api: Api, cast: Cast, marker: str) -> set[str]:
    return {n for n in cast.ids if marker in await directive(api, cast, n)}


async def test_lore_visibility_in_directives_and_player_reads(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)  # Alda: hidden member of Cell; Brix, Zed (an NPC): not
        fid = cast.frame_id
        await add(api, cast, title="Cantina", text="LORE-PUBLIC the band never stops", always=True)
        await add(api, cast, title="Cell", text="LORE-CELL meet behind the vaporators",
                  visibility="affiliation:Cell", always=True)
        brix = await add(api, cast, title="Debt", text="LORE-BRIX you owe the Hutt", visibility="character:Brix",
                         always=True)
        assert brix["visibility"] == f"character:{cast.ids['Brix']}"
        await add(api, cast, title="Twist", text="LORE-GM the bartender is a spy", visibility="gm",
                  always=True, keywords=["wait"])
        spice = await add(api, cast, title="Spice", text="LORE-SPICE spice is contraband", keywords=["spice"])

        assert await readers(api, cast, "LORE-PUBLIC") == {"Alda", "Brix", "Zed"}
        assert await readers(api, cast, "LORE-CELL") == {"Alda"}  # hidden members are members
        assert await readers(api, cast, "LORE-BRIX") == {"Brix"}
        assert await readers(api, cast, "LORE-GM") == set()
        assert await readers(api, cast, "LORE-SPICE") == set()  # not triggered

        # an action naming the keyword triggers it: in Brix's directive (his action), and in the
        # others' (his action is in their view: the recent context)
        r = await api.client.post(f"/frames/{fid}/liquid", headers=bearer(cast.users["Brix"]),  # type: ignore[arg-type]
                                  json={"character_id": str(cast.ids["Brix"]), "content": "I sniff for spice",
                                        "commit": True, "pscale": -1})
        assert r.status_code == 201, r.text
        assert await readers(api, cast, "LORE-SPICE") == {"Alda", "Brix", "Zed"}

        # what players read is what RLS lets them (GM: all)
        async def titles(user: UUID | None) -> set[str]:
            r = await api.client.get(f"/frames/{fid}/lore", headers=bearer(user))  # type: ignore[arg-type]
            assert r.status_code == 200, r.text
            return {e["title"] for e in r.json()}

        assert await titles(cast.users["Alda"]) == {"Cantina", "Cell", "Spice"}
        assert await titles(cast.users["Brix"]) == {"Cantina", "Debt", "Spice"}
        assert await titles(cast.gm) == {"Cantina", "Cell", "Debt", "Twist", "Spice"}
        r = await api.client.get(f"/frames/{fid}/lore/{brix['id']}", headers=bearer(cast.users["Alda"]))  # type: ignore[arg-type]
        assert r.status_code == 404

        # edit and delete: the next gather reads the change, and the log has every write
        r = await api.client.patch(f"/frames/{fid}/lore/{spice['id']}", json={"always": True, "text": "LORE-SPICE2"},
                                   headers=bearer(cast.gm))
        assert r.status_code == 200, r.text
        assert await readers(api, cast, "LORE-SPICE2") == {"Alda", "Brix", "Zed"}
        r = await api.client.delete(f"/frames/{fid}/lore/{spice['id']}", headers=bearer(cast.gm))
        assert r.status_code == 204
        assert await readers(api, cast, "LORE-SPICE2") == set()
        r = await api.client.get(f"/frames/{fid}/changes", headers=bearer(cast.gm))
        assert [(c["kind"], c["detail"]["action"]) for c in r.json()][-3:] == [
            ("lore", "create"), ("lore", "update"), ("lore", "delete")]
        r = await api.client.get(f"/frames/{fid}/changes", headers=bearer(cast.users["Alda"]))  # type: ignore[arg-type]
        assert r.status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "", "text": "x"}, "title"),
    ({"title": "t", "text": " "}, "text"),
    ({"title": "t", "text": "x", "visibility": "affiliation:Guild"}, "visibility"),
    ({"title": "t", "text": "x", "visibility": "character:Nobody"}, "visibility"),
    ({"title": "t", "text": "x", "visibility": "friends"}, "visibility"),
    ({"title": "t", "text": "x", "keywords": [""]}, "keywords"),
    ({"title": "t", "text": "x", "keywords": "spice"}, "body.keywords"),
    ({"title": "t", "text": "x", "secret": True}, "body.secret"),
    ({"title": "t"}, "body.text"),
])
async def test_bad_lore_is_refused_naming_the_field_and_writes_nothing(db_url: str, body: dict[str, Any],
                                                                        field: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        before = await counts(api.st)
        r = await api.client.post(f"/frames/{cast.frame_id}/lore", json=body, headers=bearer(cast.gm))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field
        r = await api.client.post(f"/frames/{cast.frame_id}/lore", json={"title": "t", "text": "x"},
                                  headers=bearer(cast.users["Alda"]))  # type: ignore[arg-type]
        assert r.status_code == 403
        assert await counts(api.st) == before


async def test_world_and_scenario_edits_reach_the_next_gather_and_are_logged(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        r = await api.client.patch(f"/frames/{cast.frame_id}", json={"world": "WORLD-V2 a frozen moon"},
                                   headers=bearer(cast.gm))
        assert r.status_code == 200, r.text
        assert "WORLD-V2 a frozen moon" in await directive(api, cast, "Alda")
        r = await api.client.patch(f"/frames/{cast.frame_id}", json={"scenario": "SCEN-V2"}, headers=bearer(cast.gm))
        assert r.status_code == 200
        log = (await api.client.get(f"/frames/{cast.frame_id}/changes", headers=bearer(cast.gm))).json()
        assert [(c["kind"], c["detail"]["to"]) for c in log] == [("world", "WORLD-V2 a frozen moon"),
                                                                 ("scenario", "SCEN-V2")]
        assert log[0]["detail"]["from"] == "A cantina."
        assert log[0]["changed_by"] == str(cast.gm)


async def test_rules_are_validated_applied_logged_and_shown(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        fid, gm = cast.frame_id, bearer(cast.gm)
        r = await api.client.get(f"/frames/{fid}/rules", headers=bearer(cast.users["Brix"]))  # type: ignore[arg-type]
        assert r.status_code == 200
        assert r.json() == {"pscale_windows": {"-2": 5.0, "-1": 15.0}, "perceive": False, "perceive_seconds": 3.0,
                            "npc_budget_per_hour": 120, "interrupt_policy": "allow", "review": False,
                            "outcome_mode": "guarded", "prompt_budget": None, "effective_prompt_budget": 3000}
        before = await counts(api.st)
        for body, field in [({"prompt_budget": 10}, "body.prompt_budget"),
                            ({"interrupt_policy": "sometimes"}, "body.interrupt_policy"),
                            ({"pscale_windows": {"7": 3}}, "body.pscale_windows"),
                            ({"npc_budget_per_hour": -1}, "body.npc_budget_per_hour"),
                            ({"outcome_mode": "loud"}, "body.outcome_mode"),
                            ({"speed": 2}, "body.speed")]:
            r = await api.client.patch(f"/frames/{fid}/rules", json=body, headers=gm)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["error"]["field"] == field
        alda = bearer(cast.users["Alda"])  # type: ignore[arg-type]
        r = await api.client.patch(f"/frames/{fid}/rules", json={"review": True}, headers=alda)
        assert r.status_code == 403
        assert await counts(api.st) == before

        r = await api.client.patch(f"/frames/{fid}/rules", headers=gm, json={
            "pscale_windows": {"-2": 8}, "perceive_seconds": 2, "npc_budget_per_hour": 30,
            "interrupt_policy": "off", "review": True, "outcome_mode": "blind", "prompt_budget": 600})
        assert r.status_code == 200, r.text
        want = {"pscale_windows": {"-2": 8.0}, "perceive": False, "perceive_seconds": 2.0, "npc_budget_per_hour": 30,
                "interrupt_policy": "off", "review": True, "outcome_mode": "blind", "prompt_budget": 600,
                "effective_prompt_budget": 600}
        assert r.json() == want
        assert (await api.client.get(f"/frames/{fid}/rules", headers=gm)).json() == want
        frame = await api.st.get_frame(fid)
        assert frame is not None
        stored = (frame.actor_budget_per_hour, frame.outcome_mode, frame.rules["interrupt_policy"])
        assert stored == (30, "blind", "off")
        log = (await api.client.get(f"/frames/{fid}/changes", headers=gm)).json()
        assert [c["kind"] for c in log] == ["rules"]
        assert log[0]["detail"]["prompt_budget"] == {"from": None, "to": 600}
        assert log[0]["detail"]["outcome_mode"] == {"from": "guarded", "to": "blind"}
        # the frame's prompt budget caps the next directive
        text = await directive(api, cast, "Alda")
        assert "PROMPT BUDGET: 600 tokens" in text
        assert "ALDA-SECRET" in text
