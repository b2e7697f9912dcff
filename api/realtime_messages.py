"""Realtime serialization: events → the WebSocket message texts ``{type, cursor, data}``.

``data`` is built by the same serializers REST uses (``api.schemas``), so a row reads the
same over both. Texts are per role: a frame reads differently to its GM and to a player;
every other row is one text for both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from api import schemas, schemas_gm
from synthesis import store_api
from synthesis.types import Event, Frame, LiquidEntry, OocMessage, OutcomeRow, Row, SolidRow, Window

Texts = dict[str, str]  # role ("gm" / "player") -> the message text

_TYPE_NAMES = {"outcome", "narrative", "timer", "liquid", "frame", "ooc"}


async def messages(st: store_api.ApiStore, frame_id: UUID, events: list[Event], *, narrator: str,
                   now: Callable[[], datetime], conn: Any = None) -> list[tuple[Event, Texts]]:
    """The rows these events name, loaded once per type, serialized once per role, in event
    order. An event whose row is gone (deleted since) or not visible to ``conn``'s reader is
    left out. ``now()`` is read once, after the rows are loaded, to date the timers."""
    by_type: dict[str, list[UUID]] = {}
    for ev in events:
        by_type.setdefault(ev.type, []).append(ev.ref_id)
    rows: dict[tuple[str, UUID], Row] = {}
    for kind, ids in by_type.items():
        if kind == "frame":
            frame = await st.get_frame(frame_id, conn=conn)
            if frame is not None:
                rows[("frame", frame.id)] = frame
            continue
        for loaded in await st.rows_by_ids(kind, frame_id, ids, conn=conn):
            rows[(kind, loaded.id)] = loaded  # type: ignore[attr-defined]
    at = now()
    out: list[tuple[Event, Texts]] = []
    for ev in events:
        found = rows.get((ev.type, ev.ref_id))
        if found is None:
            continue  # deleted since, or not visible to this reader
        if isinstance(found, Frame):
            texts = {role: text(ev, schemas.frame_public(found, role=role, narrator=narrator))
                     for role in ("gm", "player")}
        else:
            one = text(ev, public(found, at))
            texts = {"gm": one, "player": one}
        out.append((ev, texts))
    return out


def public(row: Row, now: datetime) -> Any:
    """The REST model of a row that is not a frame."""
    if isinstance(row, OutcomeRow):
        return schemas.outcome_public(row)
    if isinstance(row, SolidRow):
        return schemas.narrative_public(row)
    if isinstance(row, Window):
        return schemas.timer_public(row, now)
    if isinstance(row, LiquidEntry):
        return schemas.liquid_public(row)
    if isinstance(row, OocMessage):
        return schemas_gm.ooc_public(row)
    raise TypeError(f"no serializer for {type(row).__name__}")


def text(ev: Event, model: Any) -> str:
    """One message: ``{"type", "cursor", "data"}``, compact JSON."""
    if ev.type not in _TYPE_NAMES:
        raise ValueError(f"no WebSocket message type for event type {ev.type!r}")
    return json.dumps({"type": ev.type, "cursor": ev.seq, "data": model.model_dump(mode="json")},
                      separators=(",", ":"))
