"""Frame export and import (issue 16, item 7): one JSON document holds a frame, its cast,
affiliations, lore, rules and its whole history; importing it recreates the frame with new ids
and the same content. Pure: ``check`` validates a document, ``remap`` gives every row new ids.

The document (``FORMAT``, ``VERSION``) has the frame row under ``frame``, the users it names
under ``users`` (``{id, name}``: no emails, no tokens) and each table's rows under its name
(``TABLES``, in insertion order), each row as the table holds it.

Ids are globally unique, so one map, old id → new id, serves every table: every string equal
to an old id, anywhere in a row (a column, an array of ids, an id inside jsonb such as
``actions_resolved[].character_id``), and a lore visibility ``character:<old id>``, becomes
the new id. Windows are renumbered by the database (their ``seq`` is an identity); a window
claimed when the frame was exported is open again in the copy (no worker holds it there).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from synthesis import errors

FORMAT = "medium-frame"
VERSION = 1
TABLES: tuple[str, ...] = ("frame_members", "affiliations", "characters", "memberships", "content", "windows",
                           "liquid", "outcomes", "solid", "memory_summaries", "ooc_messages", "events",
                           "frame_changes")
IDENTITY = {"windows": "seq", "frame_changes": "seq"}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def document(doc: dict[str, Any], *, exported_at: str) -> dict[str, Any]:
    """The export file's JSON: the snapshot the store read, with the format header."""
    return {"format": FORMAT, "version": VERSION, "exported_at": exported_at, **doc}


def check(doc: Any) -> dict[str, Any]:
    """Validate an export document; ``InvalidInput`` names the part at fault."""
    if not isinstance(doc, dict):
        raise errors.InvalidInput("an export is one JSON object", field="(file)")
    if doc.get("format") != FORMAT:
        raise errors.InvalidInput(f"not a medium frame export (format must be {FORMAT!r})", field="format")
    if doc.get("version") != VERSION:
        raise errors.InvalidInput(f"unsupported version {doc.get('version')!r} (this medium reads {VERSION})",
                                  field="version")
    frame = doc.get("frame")
    if not isinstance(frame, dict) or not isinstance(frame.get("id"), str) or not frame.get("name"):
        raise errors.InvalidInput("frame must be an object with an id and a name", field="frame")
    for key in ("users", *TABLES):
        rows = doc.get(key, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise errors.InvalidInput(f"{key} must be a list of objects", field=key)
        if key != "users" and any(r.get("frame_id") != frame["id"] for r in rows):
            raise errors.InvalidInput(f"a row of {key} belongs to another frame", field=key)
    return doc


def _ids(doc: dict[str, Any]) -> list[str]:
    found = [doc["frame"]["id"], *(u["id"] for u in doc.get("users", []))]
    for table in TABLES:
        found += [r["id"] for r in doc.get(table, []) if isinstance(r.get("id"), str)]
    return found


def _swap(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        if value in ids:
            return ids[value]
        if value.startswith("character:") and value[10:] in ids:
            return "character:" + ids[value[10:]]
        return value
    if isinstance(value, list):
        return [_swap(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _swap(v, ids) for k, v in value.items()}
    return value


def remap(doc: dict[str, Any], *, new_id: Callable[[], uuid.UUID] = uuid.uuid4) -> dict[str, Any]:
    """The same frame with every id new (``ids``: old → new, returned too)."""
    ids = {old: str(new_id()) for old in dict.fromkeys(_ids(doc)) if _UUID.match(old)}
    out: dict[str, Any] = {"ids": ids, "frame": _swap(doc["frame"], ids),
                           "users": _swap(doc.get("users", []), ids)}
    for table in TABLES:
        rows = []
        for row in _swap(doc.get(table, []), ids):
            row = {k: v for k, v in row.items() if k != IDENTITY.get(table)}
            if table == "windows" and row.get("status") == "claimed":
                row.update(status="open", claimed_by=None, claimed_at=None, lease_expires_at=None,
                           claim_session=None)
            rows.append(row)
        out[table] = rows
    return out
