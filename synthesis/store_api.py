"""The store's queries for the HTTP API and the realtime gateway (``synthesis/sql/api.sql``).

Split from ``store.py`` to keep modules small; it talks to the database only through
``Store``'s named-query methods, so ``store.py`` stays the only asyncpg user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis import errors
from synthesis.store import Connection
from synthesis.store_auth import AuthStore
from synthesis.store_gm import GmStore
from synthesis.store_queries import _model
from synthesis.types import (
    Affiliation,
    Character,
    Frame,
    LiquidEntry,
    Membership,
    OocMessage,
    OutcomeRow,
    Row,
    SolidRow,
    Window,
)

# --- API reads/writes ------------------------------------------------------------------------
# The queries of api/ (synthesis/sql/api.sql). Methods taking ``conn`` run in the caller's
# transaction: an ``as_user`` one where RLS decides, or a ``transaction`` one after the API has
# checked the caller's frame role. Cast changes append a ``frame`` event so clients refresh.


def _rows(records: Sequence[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in records]


class ApiStore(AuthStore, GmStore):
    """``Store`` (with the GM's controls, ``GmStore``, and invites and sessions, ``AuthStore``)
    plus the reads and writes the HTTP API and the realtime gateway need."""

    async def ping(self) -> None:
        await self._fetchval("api_ping")

    async def realtime(self) -> str:
        """The database's realtime switch (``notify`` or ``supabase``; migration ..._broadcast_v2)."""
        return str(await self._fetchval("realtime_setting"))

    async def rate_take(self, user_id: UUID, full: float,
                        decide: Callable[[float, float], tuple[float, float]]) -> float:
        """One rate-limit decision for ``user_id``: its bucket row (``full`` tokens when new) is
        locked, ``decide(tokens, elapsed seconds)`` returns ``(tokens, wait)``, the tokens are
        stored; returns ``wait`` (0: allowed). The database clock times every replica alike."""
        async with self.transaction() as conn:
            row = await self._fetchrow("api_rate_bucket_lock", user_id, full, conn=conn)
            if row is None:  # INSERT … ON CONFLICT DO UPDATE … RETURNING always returns the row
                raise errors.DatabaseUnavailable("rate bucket: no row returned")
            tokens, wait = decide(float(row["tokens"]), float(row["elapsed"]))
            await self._fetchval("api_rate_bucket_save", user_id, tokens, conn=conn)
        return wait

    @asynccontextmanager
    async def as_gm(self, user_id: UUID, frame_id: UUID) -> AsyncIterator[Connection]:
        """A transaction for a GM action: the frame row locked first (the lock order of every
        writer), then the caller's role checked: not a member → NotFound, a player → Forbidden."""
        async with self.transaction() as conn:
            role = None
            if await self.lock_frame(conn, frame_id):
                role = await self.member_role(frame_id, user_id, conn=conn)
            if role is None:
                raise errors.NotFound("frame not found", field="frame_id")
            if role != "gm":
                raise errors.Forbidden("only the frame's GM may do that", field="frame_id")
            yield conn

    @asynccontextmanager
    async def as_member(self, user_id: UUID, frame_id: UUID) -> AsyncIterator[Connection]:
        """``as_user`` for a member's read: not a member of the frame (by RLS) → NotFound."""
        async with self.as_user(user_id) as conn:
            if await self.my_role(conn, frame_id) is None:
                raise errors.NotFound("frame not found", field="frame_id")
            yield conn

    async def frame_changed(self, conn: Connection, frame_id: UUID) -> None:
        await self.emit(conn, frame_id, [("frame", frame_id, None)])

    async def my_role(self, conn: Connection, frame_id: UUID) -> str | None:
        """As user: the caller's role in the frame, None when not a member (RLS)."""
        return await self._fetchval("api_my_role", frame_id, conn=conn)  # type: ignore[no-any-return]

    async def my_frames(self, conn: Connection) -> list[tuple[Frame, str]]:
        return [(_model(Frame, r), r["my_role"]) for r in await self._fetch("api_my_frames", conn=conn)]

    async def ensure_user(self, user_id: UUID, *, conn: Connection | None = None) -> None:
        """A token subject new to the database becomes a user row."""
        await self._fetchval("api_ensure_user", user_id, None, conn=conn)

    async def create_frame(self, user_id: UUID, *, name: str, mode: str, world: str, scenario: str,
                           pscale_windows: dict[str, float], perceive: bool) -> Frame:
        """The creator becomes the frame's GM; a token subject new to the database is added."""
        async with self.transaction() as conn:
            await self.ensure_user(user_id, conn=conn)
            frame = await self.insert_frame(conn, name=name, mode=mode, world=world, scenario=scenario,
                                            pscale_windows=pscale_windows, perceive=perceive,
                                            actor_budget_per_hour=120, actors_always=False,
                                            created_by=user_id)
            await self.insert_member(conn, frame.id, user_id, "gm")
            return frame

    async def update_frame(self, conn: Connection, frame_id: UUID, *, name: str | None,
                           mode: str | None, world: str | None, scenario: str | None,
                           pscale_windows: dict[str, float] | None, perceive: bool | None,
                           outcome_mode: str | None = None,
                           perceive_seconds: float | None = None, review: bool | None = None) -> Frame:
        await self.frame_changed(conn, frame_id)  # first, so the row returned has its cursor
        row = await self._fetchrow("api_update_frame", frame_id, name, mode, world, scenario,
                                  pscale_windows, perceive, outcome_mode, perceive_seconds, review, conn=conn)
        if row is None:
            raise errors.NotFound("frame not found", field="frame_id")
        return _model(Frame, row)

    async def set_member(self, conn: Connection, frame_id: UUID, user_id: UUID, role: str
                         ) -> dict[str, Any]:
        if not await self._fetchval("api_user_exists", user_id, conn=conn):
            raise errors.NotFound("no such user", field="user_id")
        row = await self.insert_member(conn, frame_id, user_id, role)
        await self.frame_changed(conn, frame_id)
        return row

    async def remove_member(self, conn: Connection, frame_id: UUID, user_id: UUID) -> None:
        row = await self._fetchrow("delete_member", frame_id, user_id, conn=conn)
        if row is None:
            raise errors.NotFound("not a member of this frame", field="user_id")
        if row["role"] == "gm" and not await self._fetchval("api_gm_count", frame_id, conn=conn):
            raise errors.Conflict("a frame keeps at least one GM", field="user_id")
        await self.frame_changed(conn, frame_id)

    async def visible_cast(self, conn: Connection, frame_id: UUID
                           ) -> tuple[list[Character], list[dict[str, Any]]]:
        """As user: characters (public columns) and the memberships RLS lets the caller see."""
        chars = [_model(Character, r) for r in await self._fetch("api_visible_characters", frame_id, conn=conn)]
        return chars, _rows(await self._fetch("api_visible_memberships", frame_id, conn=conn))

    async def character_internals(self, frame_id: UUID, ids: list[UUID]) -> dict[UUID, str]:
        rows = await self._fetch("api_character_internals", frame_id, ids)
        return {r["id"]: r["internal"] for r in rows}

    async def ensure_player(self, conn: Connection, frame_id: UUID, user_id: UUID) -> None:
        if not await self._fetchval("api_user_exists", user_id, conn=conn):
            raise errors.NotFound("no such user", field="user_id")
        await self._fetchval("api_add_player_if_missing", frame_id, user_id, conn=conn)

    async def create_character(self, conn: Connection, frame_id: UUID, *, name: str,
                               handle: str, user_id: UUID | None, universal: str, internal: str,
                               external: str, model: str | None) -> Character:
        if user_id is not None:
            await self.ensure_player(conn, frame_id, user_id)
        ch = await self.insert_character(conn, frame_id, name=name, handle=handle, user_id=user_id,
                                         universal=universal, internal=internal, external=external,
                                         model=model)
        await self.frame_changed(conn, frame_id)
        return ch

    async def update_character(self, conn: Connection, frame_id: UUID, character_id: UUID,
                               fields: dict[str, Any]) -> Character:
        if fields.get("user_id") is not None:
            await self.ensure_player(conn, frame_id, fields["user_id"])
        row = await self._fetchrow(
            "api_update_character", frame_id, character_id, fields.get("name"), fields.get("handle"),
            "user_id" in fields, fields.get("user_id"), fields.get("universal"), fields.get("internal"),
            fields.get("external"), "model" in fields, fields.get("model"), conn=conn)
        if row is None:
            raise errors.NotFound("character not found", field="character_id")
        await self.frame_changed(conn, frame_id)
        return _model(Character, row)

    async def delete_row(self, conn: Connection, query: str, frame_id: UUID, *ids: UUID,
                         field: str) -> None:
        """Run one of the api_delete_* queries; NotFound naming ``field`` when nothing matched."""
        if await self._fetchrow(query, frame_id, *ids, conn=conn) is None:
            raise errors.NotFound(f"{field.removesuffix('_id')} not found", field=field)
        await self.frame_changed(conn, frame_id)

    async def visible_affiliations(self, conn: Connection, frame_id: UUID) -> list[Affiliation]:
        return [_model(Affiliation, r) for r in await self._fetch("api_visible_affiliations", frame_id, conn=conn)]

    async def affiliation_internals(self, frame_id: UUID, user_id: UUID, *, gm: bool) -> dict[UUID, str]:
        rows = await self._fetch("api_affiliation_internals", frame_id, user_id, gm)
        return {r["id"]: r["internal"] for r in rows}

    async def create_affiliation(self, conn: Connection, frame_id: UUID, *, name: str,
                                 universal: str, internal: str, external: str) -> Affiliation:
        aff = await self.insert_affiliation(conn, frame_id, name=name, universal=universal,
                                            internal=internal, external=external)
        await self.frame_changed(conn, frame_id)
        return aff

    async def update_affiliation(self, conn: Connection, frame_id: UUID, affiliation_id: UUID,
                                 fields: dict[str, Any]) -> Affiliation:
        row = await self._fetchrow("api_update_affiliation", frame_id, affiliation_id, fields.get("name"),
                                  fields.get("universal"), fields.get("internal"),
                                  fields.get("external"), conn=conn)
        if row is None:
            raise errors.NotFound("affiliation not found", field="affiliation_id")
        await self.frame_changed(conn, frame_id)
        return _model(Affiliation, row)

    async def set_membership(self, conn: Connection, frame_id: UUID, affiliation_id: UUID,
                             character_id: UUID, hidden: bool) -> Membership:
        if await self.get_character(frame_id, character_id, conn=conn) is None:
            raise errors.NotFound("character not found", field="character_id")
        m = await self.insert_membership(conn, frame_id, character_id, affiliation_id, hidden)
        await self.frame_changed(conn, frame_id)
        return m

    async def list_models(self) -> list[dict[str, Any]]:
        return _rows(await self._fetch("api_list_models"))

    async def insert_model(self, *, name: str, provider: str, model: str, base_url: str | None,
                           api_key_encrypted: str | None, role: str | None) -> dict[str, Any]:
        row = await self._fetchrow("api_insert_model", name, provider, model, base_url,
                                  api_key_encrypted, role)
        return dict(row) if row else {}

    async def frame_liquid(self, conn: Connection, frame_id: UUID, *, limit: int = 1000
                           ) -> list[LiquidEntry]:
        return [_model(LiquidEntry, r) for r in await self._fetch("api_frame_liquid", frame_id, limit, conn=conn)]

    async def update_liquid(self, conn: Connection, frame_id: UUID, liquid_id: UUID, *,
                            content: str, refined_text: str | None, pscale: int, timer_duration: float,
                            interruptive: bool, interrupt_targets: list[UUID], soft_source: str,
                            soft_note: str | None) -> LiquidEntry | None:
        """Edit a draft: its text as ``conn``'s reader (RLS: its own character, still a draft),
        then its new analysis as the service. None when the caller may not edit it."""
        if await self._fetchval("api_update_liquid_text", frame_id, liquid_id, content, conn=conn) is None:
            return None
        async with conn.as_service():
            row = await self._fetchrow("set_liquid_analysis", frame_id, liquid_id, refined_text, pscale,
                                      timer_duration, interruptive, interrupt_targets, soft_source,
                                      soft_note, None, conn=conn)
        return _model(LiquidEntry, row) if row else None

    async def withdraw_liquid(self, conn: Connection, frame_id: UUID, liquid_id: UUID
                              ) -> LiquidEntry | None:
        """Withdraw a draft: locked as ``conn``'s reader (RLS: one it may edit), its status then
        written by the service (status is not a player's column). None when it may not."""
        if await self._fetchval("api_lock_draft", frame_id, liquid_id, conn=conn) is None:
            return None
        async with conn.as_service():
            row = await self._fetchrow("api_withdraw_liquid", frame_id, liquid_id, conn=conn)
        return _model(LiquidEntry, row) if row else None

    async def intent(self, frame_id: UUID, viewer: UUID) -> list[dict[str, Any]]:
        return _rows(await self._fetch("api_intent", frame_id, viewer))

    async def solid_directive(self, frame_id: UUID, solid_id: UUID) -> str | None:
        return await self._fetchval("api_solid_directive", frame_id, solid_id)  # type: ignore[no-any-return]

    async def retry_window(self, conn: Connection, frame_id: UUID, window_id: UUID,
                           now: datetime) -> Window | None:
        """A failed window opens again, due ``now``. None when it is not failed."""
        row = await self._fetchrow("retry_window", frame_id, window_id, now, conn=conn)
        if row is None:
            return None
        w = _model(Window, row)
        await self.emit(conn, frame_id, [("timer", w.id, await self._timer_audience(conn, w))])
        return w

    async def cancel_window(self, conn: Connection, frame_id: UUID, window_id: UUID,
                            now: datetime, reason: str) -> Window | None:
        """An open window is cancelled; its committed liquid goes back to submitted."""
        row = await self._fetchrow("cancel_window", frame_id, window_id, reason, now, conn=conn)
        if row is None:
            return None
        w = _model(Window, row)
        freed = await self._fetch("uncommit_window_liquid", frame_id, window_id, conn=conn)
        liquid = [("liquid", r["id"], await self._audience(conn, frame_id, r["character_id"])) for r in freed]
        await self.emit(conn, frame_id, [("timer", w.id, await self._timer_audience(conn, w)), *liquid])
        return w

    # realtime gateway: rows by id, loaded in batches (pass an as_user conn for catch-up)

    async def rows_by_ids(self, kind: str, frame_id: UUID, ids: list[UUID], *,
                          conn: Connection | None = None) -> list[Row]:
        query, cls = _BY_IDS[kind]
        if kind == "narrative" and conn is not None and conn.user_id is not None:
            query = "solid_by_ids_as_user"  # a player may not read the directive column
        return [_model(cls, r) for r in await self._fetch(query, frame_id, ids, conn=conn)]

    async def frames_seq(self, frame_ids: list[UUID]) -> dict[UUID, int]:
        return {r["id"]: r["event_seq"] for r in await self._fetch("api_frames_seq", frame_ids)}

    # stats and metrics (frame_id None: every frame)

    async def window_counts(self, frame_id: UUID | None = None) -> dict[str, int]:
        row = await self._fetchrow("api_window_counts", frame_id)
        return dict(row) if row else {"open": 0, "claimed": 0, "failed": 0}

    async def window_latencies(self, frame_id: UUID | None = None, *, limit: int = 1000
                               ) -> list[tuple[float, float]]:
        rows = await self._fetch("api_window_latencies", frame_id, limit)
        return [(float(r["lateness_ms"]), float(r["synthesis_ms"])) for r in rows]

    async def llm_usage(self, frame_id: UUID | None = None) -> dict[str, Any]:
        row = await self._fetchrow("api_llm_usage", frame_id)
        return dict(row) if row else {}

    # --- models: bulk add (issue 11) -------------------------------------------------------------

    async def insert_models(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert several `models` rows in one transaction: all of them, or (on any conflict,
        raised as `Conflict`) none."""
        out: list[dict[str, Any]] = []
        async with self.transaction() as conn:
            for r in rows:
                row = await self._fetchrow("api_insert_model", r["name"], r["provider"], r["model"],
                                           r.get("base_url"), r.get("api_key_encrypted"), r.get("role"),
                                           conn=conn)
                out.append(dict(row) if row else {})
        return out


_BY_IDS: dict[str, tuple[str, type[Row]]] = {
    "outcome": ("outcomes_by_ids", OutcomeRow),
    "narrative": ("solid_by_ids", SolidRow),
    "timer": ("windows_by_ids", Window),
    "liquid": ("liquid_by_ids", LiquidEntry),
    "ooc": ("ooc_by_ids", OocMessage),
}
