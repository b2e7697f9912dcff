"""Players make characters (issue 14, item 2): a player who joined by an open invite proposes a
character, validated as a scenario file's character is; the GM approves (as sent or edited) or
rejects it; nobody else may."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from synthesis.clock import FakeClock
from tests.integration.api_support import bearer, cast_of, row_counts, running_api


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


async def joined(api: Any, frame_id: Any, gm: Any, **invite: Any) -> dict[str, Any]:
    inv = (await api.client.post(f"/frames/{frame_id}/invites", json=invite, headers=bearer(gm))).json()
    r = await api.client.post("/auth/join", json={"code": inv["code"]})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


PROPOSAL = {"name": "Vex Talon", "universal": "A pilot.", "internal": "VEX-SECRET: owes the Hutts",
            "external": "Scarred hands.", "affiliations": [{"name": "Traders", "hidden": True}]}


async def traders(api: Any, cast: Any) -> None:
    """A group the newcomer may know exists: Brix is a public member (the Cell has only Alda's
    hidden membership, so to a newcomer it does not exist)."""
    r = await api.client.post(f"/frames/{cast.frame_id}/affiliations", headers=bearer(cast.gm),
                              json={"name": "Traders", "internal": "TRADERS-SECRET"})
    assert r.status_code == 201, r.text
    m = await api.client.put(f"/frames/{cast.frame_id}/affiliations/{r.json()['id']}/members/{cast.ids['Brix']}",
                             json={"hidden": False}, headers=bearer(cast.gm))
    assert m.status_code == 200, m.text


async def test_a_player_proposes_and_the_gm_approves_an_edited_character(db_url: str) -> None:
    async with running_api(db_url, clock=FakeClock(datetime.now(UTC))) as api:
        cast = await cast_of(api.st)
        await traders(api, cast)
        s = await joined(api, cast.frame_id, cast.gm)
        path = f"/frames/{cast.frame_id}/character-requests"
        r = await api.client.post(path, json=PROPOSAL, headers=auth(s["access_token"]))
        assert r.status_code == 201, r.text
        req = r.json()
        assert (req["status"], req["body"]["affiliations"]) == ("pending", [{"name": "Traders", "hidden": True}])
        again = await api.client.post(path, json={**PROPOSAL, "name": "Other"}, headers=auth(s["access_token"]))
        assert again.status_code == 409
        # another player sees none of it; the GM sees it
        assert (await api.client.get(path, headers=bearer(cast.users["Brix"]))).json() == []
        assert [x["id"] for x in (await api.client.get(path, headers=bearer(cast.gm))).json()] == [req["id"]]
        # only the GM decides
        no = await api.client.post(f"{path}/{req['id']}/approve", json={}, headers=auth(s["access_token"]))
        assert no.status_code == 403
        edits = {**PROPOSAL, "external": "Scarred hands, a new jacket."}
        ok = await api.client.post(f"{path}/{req['id']}/approve", json={"edits": edits, "note": "welcome"},
                                   headers=bearer(cast.gm))
        assert ok.status_code == 201, ok.text
        ch = ok.json()["character"]
        assert (ch["user_id"], ch["external"], ch["affiliations"]) == (s["user_id"], edits["external"], ["Traders"])
        assert ok.json()["request"]["status"] == "approved"
        twice = await api.client.post(f"{path}/{req['id']}/approve", json={}, headers=bearer(cast.gm))
        assert twice.status_code == 409
        # the new player now plays it: its knowledge holds its own secret and its hidden group
        k = await api.client.get(f"/frames/{cast.frame_id}/characters/{ch['id']}/knowledge",
                                 headers=auth(s["access_token"]))
        assert k.status_code == 200
        assert "VEX-SECRET" in k.text
        assert "TRADERS-SECRET" in k.text
        assert "CELL-SECRET" not in k.text


async def test_bad_proposals_name_the_field_and_write_nothing(db_url: str) -> None:
    async with running_api(db_url, clock=FakeClock(datetime.now(UTC))) as api:
        cast = await cast_of(api.st)
        await traders(api, cast)
        s = await joined(api, cast.frame_id, cast.gm)
        char_invite = await joined(api, cast.frame_id, cast.gm, character_id=str(cast.ids["Zed"]))
        path = f"/frames/{cast.frame_id}/character-requests"
        before = await row_counts(api.st)
        cases: list[tuple[dict[str, Any], str, int, str]] = [
            ({**PROPOSAL, "name": ""}, s["access_token"], 422, "body.name"),
            ({**PROPOSAL, "name": "Alda"}, s["access_token"], 422, "name"),
            ({**PROPOSAL, "affiliations": ["Empire"]}, s["access_token"], 422, "affiliations"),
            ({**PROPOSAL, "affiliations": ["Traders", "Traders"]}, s["access_token"], 422, "affiliations"),
            ({**PROPOSAL, "affiliations": [{"name": "Traders", "hidden": "maybe"}]}, s["access_token"], 422,
             "affiliations[0].hidden"),
            ({**PROPOSAL, "internal": "x" * 4001}, s["access_token"], 422, "body.internal"),
            ({**PROPOSAL, "player": "me"}, s["access_token"], 422, "body.player"),
            (PROPOSAL, char_invite["access_token"], 403, "frame_id"),  # joined for a character, not open
            (PROPOSAL, bearer(cast.users["Brix"])["Authorization"].split()[1], 403, "frame_id"),
        ]
        for body, tok, code, field in cases:
            r = await api.client.post(path, json=body, headers=auth(tok))
            assert (r.status_code, r.json()["error"]["field"]) == (code, field), (body, r.text)
        # a group only a hidden membership reaches is refused exactly like one that does not exist
        said = []
        for name in ("Cell", "Empire"):
            r = await api.client.post(path, json={**PROPOSAL, "affiliations": [name]}, headers=auth(s["access_token"]))
            said.append((r.status_code, r.json()["error"]["message"].replace(name, "?")))
        assert said[0] == said[1]
        assert said[0][0] == 422
        assert await row_counts(api.st) == before
