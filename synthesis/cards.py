"""Character cards (issue 16, item 6): the common V2 format (``spec: chara_card_v2``), as JSON or
embedded in a PNG (a ``tEXt`` chunk with keyword ``chara`` holding the card's JSON in base64).

Pure. ``read`` turns the uploaded bytes into a card document; ``map_card`` maps it onto a
character, refusing a bad card with ``InvalidInput`` naming the field (``data.name``,
``data.character_book.entries[2].keys``; ``body`` and ``chara`` for the file itself).

The mapping onto the three truth layers:

* ``data.name`` → the character's name;
* ``data.description`` → ``universal`` (what everyone knows);
* ``data.personality`` and ``data.scenario`` (joined by a blank line) → ``external`` (how others
  perceive them);
* ``data.creator_notes`` → ``internal`` (known only to the character), unless a ``medium``
  extension block says otherwise: ``data.extensions.medium`` may set ``universal``,
  ``internal`` and ``external`` outright (each replaces the mapped layer);
* ``data.character_book.entries`` → lorebook entries only this character may know
  (``visibility: character:<its id>``): ``keys`` → ``keywords``, ``content`` → ``text``,
  ``constant`` → ``always``, ``name`` (else ``comment``, else the first key) → ``title``;
  disabled entries (``enabled: false``) are skipped.

Other fields (greetings, example messages, system prompts, tags) have no place in a Medium's
prompt and are ignored. Each layer holds at most ``TRUTH_MAX`` characters: a longer card is
refused, naming the field, rather than cut.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from typing import Any

from synthesis import errors, lore

SPEC = "chara_card_v2"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRUTH_MAX = 4000
NAME_MAX = 200
ENTRIES_MAX = 200


def _bad(message: str, field: str) -> errors.InvalidInput:
    return errors.InvalidInput(message, field=field)


def png_chara(data: bytes) -> bytes:
    """The base64 text of the ``chara`` tEXt chunk of a PNG."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if len(chunk) < length or pos + 12 + length > len(data):
            raise _bad("the PNG is truncated", "body")
        if kind == b"tEXt":
            keyword, _, text = chunk.partition(b"\x00")
            if keyword == b"chara":
                return text
        if kind == b"IEND":
            break
        pos += 12 + length
    raise _bad("the PNG carries no character card (no tEXt chunk named 'chara')", "chara")


def read(body: bytes) -> Any:
    """The card document in an uploaded file: a PNG's ``chara`` chunk, or the JSON itself."""
    if not body:
        raise _bad("the card is empty", "body")
    if body.startswith(PNG_SIGNATURE):
        try:
            raw = base64.b64decode(png_chara(body), validate=True)
            return json.loads(raw)
        except (binascii.Error, ValueError):
            raise _bad("the PNG's 'chara' chunk is not base64-encoded card JSON", "chara") from None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _bad("a card is V2 JSON or a PNG with an embedded card", "body") from None


def _text(data: dict[str, Any], key: str, *, where: str = "data.") -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string", f"{where}{key}")
    return value.strip()


def _layer(text: str, field: str) -> str:
    if len(text) > TRUTH_MAX:
        raise _bad(f"longer than {TRUTH_MAX} characters ({len(text)}); shorten it", field)
    return text


def _book(data: dict[str, Any]) -> list[dict[str, Any]]:
    book = data.get("character_book")
    if book is None:
        return []
    where = "data.character_book"
    if not isinstance(book, dict) or not isinstance(book.get("entries", []), list):
        raise _bad("character_book must be an object with a list of entries", where)
    entries = book.get("entries", [])
    if len(entries) > ENTRIES_MAX:
        raise _bad(f"at most {ENTRIES_MAX} entries", f"{where}.entries")
    out = []
    for i, e in enumerate(entries):
        at = f"{where}.entries[{i}]"
        if not isinstance(e, dict):
            raise _bad("an entry is an object {keys, content}", at)
        if e.get("enabled", True) is False:
            continue
        keys = e.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _bad("keys must be a list of strings", f"{at}.keys")
        content = _text(e, "content", where=f"{at}.")
        constant = e.get("constant", False)
        if not isinstance(constant, bool):
            raise _bad("constant must be true or false", f"{at}.constant")
        title = next((t for t in (_text(e, "name", where=f"{at}."), _text(e, "comment", where=f"{at}."),
                                  *(k.strip() for k in keys)) if t), "")
        words = [k for k in (" ".join(k.split()) for k in keys) if k]
        entry = {"title": title[:lore.TITLE_MAX] or "(untitled)", "text": content,
                 "keywords": words, "always": constant}
        lore.check_text(content, field=f"{at}.content", limit=lore.TEXT_MAX)
        lore.check_keywords(words, field=f"{at}.keys")
        out.append(entry)
    return out


def map_card(card: Any) -> dict[str, Any]:
    """``{name, universal, internal, external, lore: [entry]}`` from a V2 card (see the module doc).
    Lore entries carry no visibility yet: the caller sets ``character:<the new id>``."""
    if not isinstance(card, dict):
        raise _bad("a card is a JSON object", "body")
    if card.get("spec") != SPEC:
        raise _bad(f"spec must be {SPEC!r} (a V2 character card), got {card.get('spec')!r}", "spec")
    data = card.get("data")
    if not isinstance(data, dict):
        raise _bad("data must be an object", "data")
    name = _text(data, "name")
    if not name:
        raise _bad("the card has no name", "data.name")
    if len(name) > NAME_MAX:
        raise _bad(f"longer than {NAME_MAX} characters", "data.name")
    description, personality = _text(data, "description"), _text(data, "personality")
    setting, notes = _text(data, "scenario"), _text(data, "creator_notes")
    extensions = data.get("extensions") or {}
    if not isinstance(extensions, dict):
        raise _bad("extensions must be an object", "data.extensions")
    block = extensions.get("medium") or {}
    if not isinstance(block, dict):
        raise _bad("the medium extension must be an object {universal, internal, external}",
                   "data.extensions.medium")
    mapped = {
        "universal": _layer(description, "data.description"),
        "external": _layer("\n\n".join(t for t in (personality, setting) if t), "data.personality"),
        "internal": _layer(notes, "data.creator_notes"),
    }
    for layer in ("universal", "internal", "external"):
        if layer in block:
            where = "data.extensions.medium."
            mapped[layer] = _layer(_text(block, layer, where=where), f"{where}{layer}")
    return {"name": name, **mapped, "lore": _book(data)}
