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
