"""Roles (issue 14, item 3): instance admins (``MEDIUM_ADMIN_USERS``) alone write models and
provider keys; a GM acts on their own frames only; a player acts on their own characters only.
Each refusal has its allowed twin, so the test fails if a rule is lost in either direction."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet

from tests.integration.api_support import bearer, cast_of, new_user, row_counts, running_api

KEY = Fernet.generate_key().decode()


async def test_only_instance_admins_write_models_and_provider_keys(db_url: str) -> None:
    admin = new_user()
    async with running_api(db_url, MEDIUM_ADMIN_USERS=str(admin), MEDIUM_SECRET_KEY=KEY) as api:
        cast = await cast_of(api.st)  # its GM is a frame's GM, not an instance admin
        row = {"name": "gpt", "provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-test-abcdefgh1234"}
        for who in (cast.gm, cast.users["Alda"]):
            assert who
            r = await api.client.post("/models", json=row, headers=bearer(who))
            assert r.status_code == 403
            assert r.json()["error"]["field"] == "authorization"
            assert "MEDIUM_ADMIN_USERS" in r.json()["error"]["message"]
        r = await api.client.post("/models", json=row, headers=bearer(admin))
        assert r.status_code == 201, r.text
        assert r.json()["api_key"] == "sk-…1234"  # stored encrypted, shown masked
        listed = await api.client.get("/models", headers=bearer(cast.gm))  # reading: any user
        assert [m["name"] for m in listed.json()] == ["gpt"]
        assert "abcdefgh" not in listed.text


async def test_a_gm_acts_on_their_own_frames_only(db_url: str) -> None:
    async with running_api(db_url) as api:
        a, b = await cast_of(api.st), await cast_of(api.st)
        c = api.client

        async def as_gm(gm: Any, frame: Any) -> list[int]:
            return [
                (await c.patch(f"/frames/{frame}", json={"scenario": "Rain."}, headers=bearer(gm))).status_code,
                (await c.post(f"/frames/{frame}/invites", json={}, headers=bearer(gm))).status_code,
                (await c.get(f"/frames/{frame}/stats", headers=bearer(gm))).status_code,
                (await c.post(f"/frames/{frame}/characters", json={"name": "Mole"}, headers=bearer(gm))).status_code,
            ]

        before = await row_counts(api.st)
        assert await as_gm(a.gm, b.frame_id) == [404, 404, 404, 404]  # another frame is not even visible
        assert await as_gm(b.gm, a.frame_id) == [404, 404, 404, 404]
        assert await row_counts(api.st) == before
        assert await as_gm(a.gm, a.frame_id) == [200, 201, 200, 201]


async def test_a_player_acts_on_their_own_characters_only(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        c, fid = api.client, cast.frame_id
        alda, brix = cast.users["Alda"], cast.users["Brix"]
        assert alda
        assert brix

        async def submit(user: Any, name: str) -> int:
            r = await c.post(f"/frames/{fid}/liquid", json={"character_id": str(cast.ids[name]),
                                                            "content": "I wait", "pscale": -1}, headers=bearer(user))
            return r.status_code

        async def knowledge(user: Any, name: str) -> int:
            r = await c.get(f"/frames/{fid}/characters/{cast.ids[name]}/knowledge", headers=bearer(user))
            return r.status_code

        before = await row_counts(api.st)
        assert (await submit(alda, "Brix"), await submit(alda, "Zed")) == (403, 403)  # another's, an NPC
        assert await knowledge(alda, "Brix") == 403
        assert await row_counts(api.st) == before
        assert (await submit(alda, "Alda"), await knowledge(alda, "Alda")) == (201, 200)
        draft = (await c.get(f"/frames/{fid}/liquid", headers=bearer(alda))).json()[0]["id"]
        assert (await c.patch(f"/liquid/{draft}", json={"content": "I run"}, headers=bearer(brix))).status_code == 404
        assert (await c.post(f"/liquid/{draft}/commit", headers=bearer(brix))).status_code == 404
        assert (await c.patch(f"/liquid/{draft}", json={"content": "I run"}, headers=bearer(alda))).status_code == 200
        # the GM-only routes stay the GM's
        assert (await c.patch(f"/frames/{fid}", json={"scenario": "x"}, headers=bearer(alda))).status_code == 403


async def test_instance_settings_are_the_admins_and_they_rule(db_url: str) -> None:
    admin = new_user()
    async with running_api(db_url, MEDIUM_ADMIN_USERS=str(admin)) as api:
        cast = await cast_of(api.st)
        c = api.client
        for method, body in (("GET", None), ("PATCH", {"frame_creation": "admins"})):
            r = await c.request(method, "/admin/settings", json=body, headers=bearer(cast.gm))
            assert r.status_code == 403
            assert r.json()["error"]["field"] == "authorization"
        assert (await c.get("/admin/settings", headers=bearer(admin))).json() == {
            "frame_creation": "anyone", "open_invites": True}
        bad = await c.patch("/admin/settings", json={"frame_creation": "nobody"}, headers=bearer(admin))
        assert (bad.status_code, bad.json()["error"]["field"]) == (422, "body.frame_creation")
        unknown = await c.patch("/admin/settings", json={"secret_key": "x"}, headers=bearer(admin))
        assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "body.secret_key")
        assert (await c.post("/frames", json={"name": "Mine"}, headers=bearer(cast.gm))).status_code == 201
        assert (await c.post(f"/frames/{cast.frame_id}/invites", json={}, headers=bearer(cast.gm))).status_code == 201
        r = await c.patch("/admin/settings", json={"frame_creation": "admins", "open_invites": False},
                          headers=bearer(admin))
        assert r.json() == {"frame_creation": "admins", "open_invites": False}
        before = await row_counts(api.st)
        refused = await c.post("/frames", json={"name": "Mine too"}, headers=bearer(cast.gm))
        assert (refused.status_code, refused.json()["error"]["field"]) == (403, "authorization")
        closed = await c.post(f"/frames/{cast.frame_id}/invites", json={}, headers=bearer(cast.gm))
        assert (closed.status_code, closed.json()["error"]["field"]) == (403, "character_id")
        assert await row_counts(api.st) == before
        one = await c.post(f"/frames/{cast.frame_id}/invites", json={"character_id": str(cast.ids["Zed"])},
                           headers=bearer(cast.gm))
        assert one.status_code == 201  # a character invite is still the GM's to make
        assert (await c.post("/frames", json={"name": "Admin's"}, headers=bearer(admin))).status_code == 201
