"""Character cards (issue 16, item 6, must show): a V2 JSON card and a PNG card import, mapped
onto the three truth layers, their character book as lore only that character may know; a
malformed card is refused naming the field, with 0 rows written."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import pytest

from synthesis import store
from tests.integration.api_support import bearer, cast_of, row_counts, running_api

CARD: dict[str, Any] = {
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {"name": "Mira Sol", "description": "CARD-UNI a smuggler's navigator",
             "personality": "CARD-PERS wry and watchful", "scenario": "CARD-SCEN waiting for a ride",
             "first_mes": "Hello.", "mes_example": "", "creator_notes": "CARD-INT she sold out her last crew",
             "system_prompt": "", "post_history_instructions": "", "alternate_greetings": [], "tags": [],
             "creator": "", "character_version": "1",
             "character_book": {"entries": [
                 {"keys": ["Kessel"], "content": "CARD-LORE the Kessel route has a blind spot", "enabled": True,
                  "insertion_order": 0, "name": "Kessel"},
                 {"keys": ["crew"], "content": "CARD-ALWAYS her old crew wants her dead", "constant": True,
                  "enabled": True, "insertion_order": 1},
                 {"keys": ["x"], "content": "CARD-OFF disabled", "enabled": False, "insertion_order": 2}]},
             "extensions": {}}}


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(card: Any | None, *, raw_chara: bytes | None = None, padding: int = 0) -> bytes:
    """A 1×1 PNG, with the card in a tEXt 'chara' chunk (and optional padding, as a real image has)."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    text = [] if card is None and raw_chara is None else [
        chunk(b"tEXt", b"chara\x00" + (raw_chara or base64.b64encode(json.dumps(card).encode())))]
    pad = [chunk(b"zTXt", b"padding\x00\x00" + b"\x00" * padding)] if padding else []
    body = chunk(b"IHDR", ihdr) + b"".join(pad + text) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


async def counts(st: store.Store) -> dict[str, int]:
    out = dict(await row_counts(st))
    async with st.pool.acquire() as conn:
        out["content"] = await conn.fetchval("SELECT count(*) FROM content")
        out["frame_changes"] = await conn.fetchval("SELECT count(*) FROM frame_changes")
    return out


async def test_a_json_card_and_a_png_card_import(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        gm = bearer(cast.gm)
        url = f"/frames/{cast.frame_id}/characters/import"
        r = await api.client.post(url, content=json.dumps(CARD), headers={**gm, "Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        mira = r.json()
        assert (mira["name"], mira["handle"], mira["is_npc"]) == ("Mira Sol", "mira_sol", True)
        assert mira["universal"] == "CARD-UNI a smuggler's navigator"
        assert mira["external"] == "CARD-PERS wry and watchful\n\nCARD-SCEN waiting for a ride"
        assert mira["internal"] == "CARD-INT she sold out her last crew"

        # the character book: lore only Mira may know; the constant entry always, the keyed one when named
        r = await api.client.get(f"/frames/{cast.frame_id}/lore", headers=gm)
        book = {e["text"]: e for e in r.json()}
        assert set(book) == {"CARD-LORE the Kessel route has a blind spot", "CARD-ALWAYS her old crew wants her dead"}
        assert {e["visibility"] for e in book.values()} == {f"character:{mira['id']}"}
        assert book["CARD-LORE the Kessel route has a blind spot"]["keywords"] == ["Kessel"]
        for name, cid in [("Mira", mira["id"]), *cast.ids.items()]:
            d = (await api.client.get(f"/frames/{cast.frame_id}/characters/{cid}/directive", headers=gm)).json()
            assert ("CARD-ALWAYS" in d["directive"]) == (name == "Mira"), name
            assert "CARD-INT" not in d["directive"] or name == "Mira"

        # the same card as a PNG (larger than the API's 64 KiB body limit, as images are), for a player
        medium_card = json.loads(json.dumps(CARD))
        medium_card["data"]["name"] = "Mira Two"
        medium_card["data"]["extensions"] = {"medium": {"internal": "EXT-INT from the medium block"}}
        image = png(medium_card, padding=100_000)
        assert len(image) > 64 * 1024
        player = cast.users["Alda"]
        r = await api.client.post(f"{url}?user_id={player}&handle=mira2", content=image,
                                  headers={**gm, "Content-Type": "image/png"})
        assert r.status_code == 201, r.text
        two = r.json()
        assert (two["name"], two["handle"], two["user_id"], two["internal"]) == (
            "Mira Two", "mira2", str(player), "EXT-INT from the medium block")
        assert two["universal"] == mira["universal"]


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not a card at all", b"hello, world", "body"),
    ("a PNG with no card", png(None), "chara"),
    ("a PNG whose chara is not base64 JSON", png(None, raw_chara=b"%%%not-base64%%%"), "chara"),
    ("a V1 card (no spec)", json.dumps({"name": "Old", "description": "x"}).encode(), "spec"),
    ("no name", json.dumps({**CARD, "data": {**CARD["data"], "name": "  "}}).encode(), "data.name"),
    ("description not text", json.dumps({**CARD, "data": {**CARD["data"], "description": 7}}).encode(),
     "data.description"),
    ("description too long", json.dumps({**CARD, "data": {**CARD["data"], "description": "d" * 4001}}).encode(),
     "data.description"),
    ("a book entry's keys not a list",
     json.dumps({**CARD, "data": {**CARD["data"], "character_book": {"entries": [{"keys": "k", "content": "c"}]}}}
                ).encode(), "data.character_book.entries[0].keys"),
    ("a truncated PNG", png(CARD)[:60], "body"),
]


@pytest.mark.parametrize(("label", "body", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_a_malformed_card_is_refused_naming_the_field_with_nothing_written(
        db_url: str, label: str, body: bytes, field: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        before = await counts(api.st)
        r = await api.client.post(f"/frames/{cast.frame_id}/characters/import", content=body,
                                  headers={**bearer(cast.gm), "Content-Type": "application/octet-stream"})
        assert r.status_code == 422, (label, r.text)
        assert r.json()["error"]["field"] == field, label
        assert await counts(api.st) == before


async def test_only_the_gm_imports(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        before = await counts(api.st)
        r = await api.client.post(f"/frames/{cast.frame_id}/characters/import", content=json.dumps(CARD),
                                  headers=bearer(cast.users["Alda"]))  # type: ignore[arg-type]
        assert r.status_code == 403
        assert await counts(api.st) == before
