"""The REST API against a real Postgres: resources, roles, and RLS isolation through the API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from synthesis import medium
from synthesis.clock import SystemClock
from tests.integration.api_support import (
    Api,
    bearer,
    cast_of,
    liquid_states,
    new_user,
    row_counts,
    running_api,
)
from tests.integration.helpers import Cast, commit, scripted_registry


async def synthesize_all(api: Api, cast: Cast) -> list[medium.SynthesisResult]:
    """Run every window of the frame now (as a worker would when they expire)."""
    later = datetime.now(UTC) + timedelta(hours=1)
    out = []
    reg = scripted_registry()
    try:
        for w in await api.st.claim_due_windows(later, limit=50, worker_id="test", lease_seconds=30):
            out.append(await medium.synthesize(api.st, reg, w.frame_id, w.id, now=later))
    finally:
        await reg.aclose()
    return out


async def test_frames_members_and_roles(db_url: str) -> None:
    gm, player, outsider = new_user(), new_user(), new_user()
    async with running_api(db_url) as api:
        c = api.client
        r = await c.post("/frames", json={"name": "Cantina", "pscale_windows": {"-2": 3}}, headers=bearer(gm))
        assert r.status_code == 201, r.text
        frame = r.json()
        assert frame["my_role"] == "gm"
        assert frame["pscale_windows"] == {"-2": 3.0}
        assert frame["clock"] == "day 1, 00:00:00"
        assert frame["narrator"].startswith("scripted")
        fid = frame["id"]
        await api.st.ensure_user(player)
        await api.st.ensure_user(outsider)
        r = await c.post(f"/frames/{fid}/members", json={"user_id": str(player)}, headers=bearer(gm))
        assert r.status_code == 201
        assert r.json()["role"] == "player"

        r = await c.get("/frames", headers=bearer(player))
        assert [(f["id"], f["my_role"]) for f in r.json()] == [(fid, "player")]
        assert (await c.get(f"/frames/{fid}", headers=bearer(player))).json()["my_role"] == "player"
        assert (await c.get("/frames", headers=bearer(outsider))).json() == []
        r = await c.get(f"/frames/{fid}", headers=bearer(outsider))
        assert r.status_code == 404
        assert r.json()["error"]["field"] == "frame_id"

        before = await row_counts(api.st)
        r = await c.patch(f"/frames/{fid}", json={"mode": "shared"}, headers=bearer(player))
        assert r.status_code == 403
        assert r.json()["error"]["field"] == "frame_id"
        r = await c.post(f"/frames/{fid}/members", json={"user_id": str(outsider)}, headers=bearer(player))
        assert r.status_code == 403
        assert await row_counts(api.st) == before

        r = await c.patch(f"/frames/{fid}", json={"mode": "shared", "perceive": False,
                                                  "pscale_windows": {"-1": 9}}, headers=bearer(gm))
        assert r.status_code == 200, r.text
        assert (r.json()["mode"], r.json()["perceive"], r.json()["pscale_windows"]) == ("shared", False, {"-1": 9.0})
        assert r.json()["event_seq"] == 2  # member added, frame changed: one frame event each

        assert (await c.delete(f"/frames/{fid}/members/{player}", headers=bearer(gm))).status_code == 204
        assert (await c.get(f"/frames/{fid}", headers=bearer(player))).status_code == 404
        r = await c.delete(f"/frames/{fid}/members/{gm}", headers=bearer(gm))
        assert r.status_code == 409
        assert r.json()["error"]["field"] == "user_id"


async def test_cast_truths_are_visible_only_where_allowed(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        c, fid = api.client, cast.frame_id

        as_alda = {x["name"]: x for x in (await c.get(f"/frames/{fid}/characters", headers=bearer(alda))).json()}
        assert as_alda["Alda"]["internal"] == "ALDA-SECRET"
        assert as_alda["Alda"]["affiliations"] == ["Cell"]
        assert as_alda["Brix"]["internal"] is None
        assert as_alda["Zed"]["is_npc"]
        as_brix = {x["name"]: x for x in (await c.get(f"/frames/{fid}/characters", headers=bearer(brix))).json()}
        assert as_brix["Alda"]["affiliations"] == []
        assert as_brix["Alda"]["internal"] is None
        as_gm = {x["name"]: x for x in (await c.get(f"/frames/{fid}/characters", headers=bearer(cast.gm))).json()}
        assert as_gm["Zed"]["internal"] == "ZED-SECRET"
        assert as_gm["Alda"]["affiliations"] == ["Cell"]

        affs = (await c.get(f"/frames/{fid}/affiliations", headers=bearer(alda))).json()
        assert affs[0]["internal"] == "CELL-SECRET"
        assert affs[0]["members"] == [str(cast.ids["Alda"])]
        # Alda's membership is hidden and Cell has no other member: Brix cannot know Cell exists.
        assert (await c.get(f"/frames/{fid}/affiliations", headers=bearer(brix))).json() == []
        affs = (await c.get(f"/frames/{fid}/affiliations", headers=bearer(cast.gm))).json()
        assert affs[0]["internal"] == "CELL-SECRET"
        assert affs[0]["members"] == [str(cast.ids["Alda"])]

        know = (await c.get(f"/frames/{fid}/characters/{cast.ids['Brix']}/knowledge", headers=bearer(brix))).json()
        assert know["me"]["internal"] == "BRIX-SECRET"
        assert "ALDA-SECRET" not in str(know)
        assert "CELL" not in str(know)
        r = await c.get(f"/frames/{fid}/characters/{cast.ids['Alda']}/knowledge", headers=bearer(brix))
        assert r.status_code == 403
        assert r.json()["error"]["field"] == "character_id"

        # GM CRUD: a new NPC, renamed, made a public member, then deleted
        r = await c.post(f"/frames/{fid}/characters", json={"name": "Old Ben", "internal": "BEN-SECRET"},
                         headers=bearer(cast.gm))
        assert r.status_code == 201
        assert r.json()["handle"] == "old_ben"
        assert r.json()["internal"] == "BEN-SECRET"
        ben = r.json()["id"]
        r = await c.patch(f"/frames/{fid}/characters/{ben}", json={"external": "Robed.", "model": "scripted"},
                          headers=bearer(cast.gm))
        assert (r.json()["external"], r.json()["model"]) == ("Robed.", "scripted")
        aid = affs[0]["id"]
        r = await c.put(f"/frames/{fid}/affiliations/{aid}/members/{ben}", json={"hidden": False},
                        headers=bearer(cast.gm))
        assert r.status_code == 200
        assert r.json()["hidden"] is False
        as_brix = {x["name"]: x for x in (await c.get(f"/frames/{fid}/characters", headers=bearer(brix))).json()}
        assert as_brix["Old Ben"]["affiliations"] == ["Cell"]
        assert as_brix["Old Ben"]["internal"] is None
        r = await c.post(f"/frames/{fid}/characters", json={"name": "Mallory"}, headers=bearer(brix))
        assert r.status_code == 403
        assert (await c.delete(f"/frames/{fid}/characters/{ben}", headers=bearer(cast.gm))).status_code == 204
        r = await c.delete(f"/frames/{fid}/characters/{ben}", headers=bearer(cast.gm))
        assert r.status_code == 404
        assert r.json()["error"]["field"] == "character_id"


async def test_liquid_submit_commit_edit_withdraw(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        c, fid = api.client, cast.frame_id
        r = await c.post(f"/frames/{fid}/liquid", json={"character_id": str(cast.ids["Alda"]),
                                                        "content": "I watch the door"}, headers=bearer(alda))
        assert r.status_code == 201, r.text
        liq = r.json()
        assert liq["status"] == "submitted"
        assert liq["timer_expires_at"] is None
        assert -3 <= liq["pscale"] <= 2
        assert liq["timer_duration"] > 0

        intent = (await c.get(f"/frames/{fid}/intent", headers=bearer(brix))).json()
        assert [(i["name"], i["content"], i["status"]) for i in intent] == [("Alda", "I watch the door", "submitted")]
        assert (await c.get(f"/frames/{fid}/intent", headers=bearer(alda))).json() == []
        assert (await c.get(f"/frames/{fid}/liquid", headers=bearer(brix))).json() == []
        assert len((await c.get(f"/frames/{fid}/liquid", headers=bearer(cast.gm))).json()) == 1

        r = await c.patch(f"/liquid/{liq['id']}", json={"content": "I search the room for an hour"},
                          headers=bearer(alda))
        assert r.status_code == 200
        assert r.json()["content"] == "I search the room for an hour"
        r = await c.patch(f"/liquid/{liq['id']}", json={"content": "mine now"}, headers=bearer(brix))
        assert r.status_code == 404
        assert r.json()["error"]["field"] == "liquid_id"

        r = await c.post(f"/liquid/{liq['id']}/commit", headers=bearer(alda))
        assert r.status_code == 200
        assert r.json()["status"] == "committed"
        committed = r.json()
        due = datetime.fromisoformat(committed["timer_expires_at"])
        assert due > datetime.fromisoformat(committed["committed_at"])
        timers = (await c.get(f"/frames/{fid}/timers", headers=bearer(alda))).json()
        assert [t["id"] for t in timers] == [committed["window_id"]]
        assert timers[0]["remaining_seconds"] > 0
        assert (await c.get(f"/frames/{fid}/timers", headers=bearer(brix))).json() == []
        assert len((await c.get(f"/frames/{fid}/timers", headers=bearer(cast.gm))).json()) == 1

        # submit-and-commit in one call joins the open window without moving its expiry
        r = await c.post(f"/frames/{fid}/liquid", json={"character_id": str(cast.ids["Alda"]),
                                                        "content": "I sip my drink", "commit": True,
                                                        "pscale": -2}, headers=bearer(alda))
        assert r.status_code == 201
        assert r.json()["window_id"] == committed["window_id"]
        assert r.json()["timer_expires_at"] == committed["timer_expires_at"]

        r = await c.post(f"/frames/{fid}/liquid", json={"character_id": str(cast.ids["Brix"]),
                                                        "content": "I wait"}, headers=bearer(brix))
        wid = r.json()["id"]
        assert (await c.delete(f"/liquid/{wid}", headers=bearer(alda))).status_code == 404
        assert (await c.delete(f"/liquid/{wid}", headers=bearer(brix))).status_code == 204
        mine = (await c.get(f"/frames/{fid}/liquid", headers=bearer(brix))).json()
        assert [x["status"] for x in mine] == ["withdrawn"]
        assert (await c.delete(f"/liquid/{wid}", headers=bearer(brix))).status_code == 409


async def test_a_retried_submit_with_a_client_key_adds_no_second_action(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        c, fid = api.client, cast.frame_id
        body = {"character_id": str(cast.ids["Alda"]), "content": "I watch the door", "client_key": "t-1"}
        first = await c.post(f"/frames/{fid}/liquid", json=body, headers=bearer(alda))
        assert first.status_code == 201
        assert first.json()["client_key"] == "t-1"

        # the answer was lost; the client retries, now asking to commit: same row, committed
        again = await c.post(f"/frames/{fid}/liquid", json=body | {"commit": True}, headers=bearer(alda))
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["status"] == "committed"
        # and once more: nothing changes, no new event
        seq = (await c.get(f"/frames/{fid}", headers=bearer(alda))).json()["event_seq"]
        third = await c.post(f"/frames/{fid}/liquid", json=body | {"commit": True}, headers=bearer(alda))
        assert third.status_code == 200
        assert third.json() == again.json()
        assert (await c.get(f"/frames/{fid}", headers=bearer(alda))).json()["event_seq"] == seq
        assert [x["id"] for x in (await c.get(f"/frames/{fid}/liquid", headers=bearer(alda))).json()] \
            == [first.json()["id"]]

        # keys are per character: Brix may use the same key for his own action
        r = await c.post(f"/frames/{fid}/liquid", headers=bearer(brix),
                         json=body | {"character_id": str(cast.ids["Brix"]), "content": "I wait"})
        assert r.status_code == 201
        assert r.json()["id"] != first.json()["id"]


async def test_concurrent_retries_with_one_client_key_make_one_action(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        alda = cast.users["Alda"]
        assert alda
        body = {"character_id": str(cast.ids["Alda"]), "content": "I run", "commit": True,
                "pscale": -2, "client_key": "race"}
        rs = await asyncio.gather(*[api.client.post(f"/frames/{cast.frame_id}/liquid", json=body,
                                                    headers=bearer(alda)) for _ in range(6)])
        assert sorted(r.status_code for r in rs) == [200] * 5 + [201], [r.text for r in rs]
        assert len({r.json()["id"] for r in rs}) == 1
        assert {r.json()["status"] for r in rs} == {"committed"}
        assert (await row_counts(api.st))["liquid"] == 1


async def test_reading_is_isolated_by_rls(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix
        now = datetime.now(UTC)
        await commit(api.st, cast, "Alda", "I watch the door", -1, now)
        await commit(api.st, cast, "Brix", "I polish my armour", -1, now)
        done = await synthesize_all(api, cast)
        assert len(done) == 2
        c, fid = api.client, cast.frame_id

        for user, name in ((alda, "Alda"), (brix, "Brix")):
            solid = (await c.get(f"/frames/{fid}/solid", headers=bearer(user))).json()
            assert [s["character_id"] for s in solid] == [str(cast.ids[name])]
            assert all(s["user_id"] == str(user) and "directive" not in s for s in solid)
            outcomes = (await c.get(f"/frames/{fid}/outcomes", headers=bearer(user))).json()
            assert len(outcomes) == 2
            assert outcomes[0]["seq"] < outcomes[1]["seq"]
        assert len((await c.get(f"/frames/{fid}/solid", headers=bearer(cast.gm))).json()) == 2
        last = (await c.get(f"/frames/{fid}/outcomes", headers=bearer(alda))).json()[0]["seq"]
        assert len((await c.get(f"/frames/{fid}/outcomes?since={last}", headers=bearer(alda))).json()) == 1
        assert len((await c.get(f"/frames/{fid}/outcomes?limit=1", headers=bearer(alda))).json()) == 1

        outsider = new_user()
        for path in ("solid", "outcomes", "timers", "liquid", "intent", "characters", "affiliations"):
            r = await c.get(f"/frames/{fid}/{path}", headers=bearer(outsider))
            assert r.status_code == 404, path
            assert r.json()["error"]["field"] == "frame_id", path

        sid = (await c.get(f"/frames/{fid}/solid", headers=bearer(alda))).json()[0]["id"]
        r = await c.get(f"/frames/{fid}/solid/{sid}/directive", headers=bearer(alda))
        assert r.status_code == 403
        r = await c.get(f"/frames/{fid}/solid/{sid}/directive", headers=bearer(cast.gm))
        assert "ALDA-SECRET" in r.json()["directive"]
        stats = (await c.get(f"/frames/{fid}/stats", headers=bearer(cast.gm))).json()
        assert stats["llm"]["calls"] == 2
        assert stats["open_windows"] == 0
        assert stats["synthesis_ms"]["p50"] is not None


async def test_gm_window_actions_and_directive(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        alda = cast.users["Alda"]
        assert alda
        c, fid = api.client, cast.frame_id
        sub = await commit(api.st, cast, "Alda", "I watch the door", -1, datetime.now(UTC))
        wid = sub.liquid.window_id
        assert wid

        r = await c.get(f"/frames/{fid}/characters/{cast.ids['Alda']}/directive", headers=bearer(cast.gm))
        assert r.status_code == 200
        assert "I watch the door" in r.json()["directive"]
        r = await c.get(f"/frames/{fid}/characters/{cast.ids['Alda']}/directive", headers=bearer(alda))
        assert r.status_code == 403
        assert r.json()["error"]["field"] == "frame_id"
        r = await c.get(f"/frames/{fid}/characters/{new_user()}/directive", headers=bearer(cast.gm))
        assert r.status_code == 404
        assert r.json()["error"]["field"] == "character_id"

        before = await liquid_states(api.st)
        r = await c.post(f"/frames/{fid}/windows/{wid}/cancel", headers=bearer(alda))
        assert r.status_code == 403
        assert await liquid_states(api.st) == before
        r = await c.post(f"/frames/{fid}/windows/{wid}/cancel", headers=bearer(cast.gm))
        assert r.status_code == 200
        assert r.json()["status"] == "cancelled"
        liq = (await c.get(f"/frames/{fid}/liquid", headers=bearer(alda))).json()
        assert [(x["status"], x["window_id"]) for x in liq] == [("submitted", None)]
        r = await c.post(f"/frames/{fid}/windows/{wid}/cancel", headers=bearer(cast.gm))
        assert r.status_code == 409
        assert r.json()["error"]["field"] == "status"

        r = await c.post(f"/liquid/{liq[0]['id']}/commit", headers=bearer(alda))
        w2 = r.json()["window_id"]
        claimed = await api.st.claim_due_windows(datetime.now(UTC) + timedelta(hours=1), limit=5,
                                                 worker_id="t", lease_seconds=30)
        assert [w.id for w in claimed] == [UUID(w2)]
        await api.st.fail_window(fid, UUID(w2), "boom", SystemClock().now())
        timers = (await c.get(f"/frames/{fid}/timers", headers=bearer(alda))).json()
        assert [(t["status"], t["last_error"]) for t in timers] == [("failed", "boom")]
        r = await c.post(f"/frames/{fid}/windows/{w2}/retry", headers=bearer(cast.gm))
        # claimable again at once (queries.sql: an expired-lease claim, so it cannot collide with
        # a newer open window of the same character)
        assert r.status_code == 200
        assert r.json()["status"] in ("open", "claimed")
        assert r.json()["last_error"] is None
        assert r.json()["attempts"] == 0
        r = await c.post(f"/frames/{fid}/windows/{new_user()}/retry", headers=bearer(cast.gm))
        assert r.status_code == 404
        assert r.json()["error"]["field"] == "window_id"


async def test_plumbing_models_and_static(db_url: str, tmp_path: Path) -> None:
    user = new_user()  # an admin: only admins write the model registry
    async with running_api(db_url, MEDIUM_SECRET_KEY="k" * 32, MEDIUM_TIME_SCALE=0.5,
                           MEDIUM_ADMIN_USER_IDS=str(user)) as api:
        c = api.client
        assert (await c.get("/health")).json() == {"status": "ok", "database": "ok"}
        assert (await c.get("/config")).json() == {"narrator": "scripted narrator (offline)", "time_scale": 0.5,
                                                   "realtime": "notify", "supabase": None}
        r = await c.post("/models", json={"name": "gpt", "provider": "openai", "model": "gpt-4o-mini",
                                          "api_key": "sk-proj-abcdefghijklmnop1234"}, headers=bearer(user))
        assert r.status_code == 201
        assert r.json()["api_key"] == "sk-proj-…1234"
        listed = (await c.get("/models", headers=bearer(user))).json()
        assert [m["api_key"] for m in listed] == ["sk-proj-…1234"]
        assert "abcdefgh" not in str(listed)
        async with api.st.pool.acquire() as conn:
            stored = await conn.fetchval("SELECT api_key_encrypted FROM models")
        assert stored
        assert "abcdefgh" not in stored
        r = await c.post("/models", json={"name": "gpt", "provider": "openai", "model": "x"}, headers=bearer(user))
        assert r.status_code == 409
        assert r.json()["error"]["field"] == "name"
        assert (await c.get("/models")).status_code == 401

        text = (await c.get("/metrics")).text
        for name in ("medium_http_request_duration_seconds_bucket", "medium_open_windows",
                     "medium_timer_lateness_seconds", "medium_synthesis_seconds", "medium_db_llm_tokens",
                     "medium_llm_errors_total", "medium_llm_seconds", "medium_fanout_seconds",
                     "medium_websocket_clients 0"):
            assert name in text, name
        assert 'route="/models",status="201"' in text
        spec = (await c.get("/openapi.json")).json()
        assert "/frames/{frame_id}/liquid" in spec["paths"]
        assert "/frames/{frame_id}/stats" in spec["paths"]
        assert (await c.get("/docs")).status_code == 200
        r = await c.get("/gm")
        assert r.status_code in (200, 404)
        assert (r.status_code == 200 or r.json()["error"]["field"] == "path")

    (tmp_path / "index.html").write_text("<h1>player</h1>")
    (tmp_path / "app.js").write_text("console.log(1)")
    from api.app import create_app
    from tests.integration.api_support import settings

    app = create_app(settings(db_url), web_dir=tmp_path)
    import httpx

    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/")).text == "<h1>player</h1>"
        assert (await c.get("/static/app.js")).text == "console.log(1)"
        assert (await c.get("/gm")).status_code == 404


async def test_database_unavailable_is_503(db_url: str) -> None:
    import httpx

    from api.app import create_app
    from synthesis import store
    from tests.integration.api_support import settings

    pool = await store.create_pool(db_url, max_size=2)
    app = create_app(settings(db_url), pool=pool)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/health")).status_code == 200
        await pool.close()  # the database is gone, as far as this app can tell
        r = await c.get("/health")
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "database": "unavailable"}
        r = await c.get("/frames", headers=bearer(new_user()))
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "database_unavailable"
