"""The store's named queries of play: frames and cast, liquid, windows (the workers), and
reading. ``Store`` (``synthesis/store.py``) inherits them; this module never touches the
driver, so ``store.py`` stays the only asyncpg user.

Every method runs one named query of ``synthesis/sql/queries.sql`` through ``Store``'s
plumbing and returns frozen models. Methods taking ``conn`` run in the caller's transaction
(a ``Tx``); the others take a pooled connection for one statement.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from synthesis import commit, errors, pacing, route
from synthesis.types import (
    Affiliation,
    Character,
    Event,
    Frame,
    LiquidEntry,
    Membership,
    OutcomeRow,
    Row,
    SolidRow,
    Window,
)

if TYPE_CHECKING:
    from synthesis.store import Tx

M = TypeVar("M", bound=Row)


def _model(cls: type[M], record: Any) -> M:
    return cls.model_validate(dict(record))


class Queries:
    """The named queries of play, as a mixin of ``Store``, which provides the plumbing below."""

    def transaction(self, *, lock_frame: UUID | None = None,
                    isolation: str = "read_committed") -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError  # Store.transaction

    async def _fetch(self, name: str, *args: Any, conn: Tx | None = None) -> list[Any]:
        raise NotImplementedError  # Store._fetch

    async def _fetchrow(self, name: str, *args: Any, conn: Tx | None = None) -> Any:
        raise NotImplementedError  # Store._fetchrow

    async def _fetchval(self, name: str, *args: Any, conn: Tx | None = None) -> Any:
        raise NotImplementedError  # Store._fetchval

    # --- frames & cast -------------------------------------------------------------------------

    async def insert_user(self, conn: Tx, user_id: UUID, email: str, meta: dict[str, Any]) -> UUID:
        return await self._fetchval("insert_user", user_id, email, meta, conn=conn)  # type: ignore[no-any-return]

    async def insert_frame(self, conn: Tx, *, name: str, mode: str, world: str, scenario: str,
                           pscale_windows: dict[str, float], perceive: bool, actor_budget_per_hour: int,
                           actors_always: bool, created_by: UUID | None) -> Frame:
        row = await self._fetchrow("insert_frame", name, mode, world, scenario, pscale_windows, perceive,
                                   actor_budget_per_hour, actors_always, created_by, conn=conn)
        return _model(Frame, row)

    async def set_outcome_mode(self, conn: Tx, frame_id: UUID, mode: str) -> None:
        """``guarded`` or ``blind`` (synthesis/blind.py); the column's CHECK rejects the rest."""
        await self._fetchval("set_outcome_mode", frame_id, mode, conn=conn)

    async def insert_member(self, conn: Tx, frame_id: UUID, user_id: UUID, role: str) -> dict[str, Any]:
        row = await self._fetchrow("insert_member", frame_id, user_id, role, conn=conn)
        return dict(row) if row else {}

    async def insert_affiliation(self, conn: Tx, frame_id: UUID, *, name: str, universal: str,
                                 internal: str, external: str) -> Affiliation:
        row = await self._fetchrow("insert_affiliation", frame_id, name, universal, internal, external,
                                   conn=conn)
        return _model(Affiliation, row)

    async def insert_character(self, conn: Tx, frame_id: UUID, *, name: str, handle: str,
                               user_id: UUID | None, universal: str, internal: str, external: str,
                               model: str | None, actions: list[dict[str, Any]] | None = None,
                               idle_seconds: float | None = None) -> Character:
        row = await self._fetchrow("insert_character", frame_id, name, handle, user_id, universal,
                                   internal, external, model, actions or [], idle_seconds, conn=conn)
        return _model(Character, row)

    async def insert_membership(self, conn: Tx, frame_id: UUID, character_id: UUID,
                                affiliation_id: UUID, hidden: bool) -> Membership:
        row = await self._fetchrow("insert_membership", frame_id, character_id, affiliation_id, hidden,
                                   conn=conn)
        return _model(Membership, row)

    async def list_affiliations(self, frame_id: UUID, *, conn: Tx | None = None) -> list[Affiliation]:
        return [_model(Affiliation, r) for r in await self._fetch("list_affiliations", frame_id, conn=conn)]

    async def list_memberships(self, frame_id: UUID, *, conn: Tx | None = None) -> list[Membership]:
        return [_model(Membership, r) for r in await self._fetch("list_memberships", frame_id, conn=conn)]

    async def get_frame(self, frame_id: UUID, *, conn: Tx | None = None
                        ) -> Frame | None:
        row = await self._fetchrow("get_frame", frame_id, conn=conn)
        return _model(Frame, row) if row else None

    async def list_characters(self, frame_id: UUID, *, conn: Tx | None = None
                              ) -> list[Character]:
        return [_model(Character, r) for r in await self._fetch("list_characters", frame_id, conn=conn)]

    async def get_character(self, frame_id: UUID, character_id: UUID, *,
                            conn: Tx | None = None) -> Character | None:
        row = await self._fetchrow("get_character", frame_id, character_id, conn=conn)
        return _model(Character, row) if row else None

    async def member_role(self, frame_id: UUID, user_id: UUID, *,
                          conn: Tx | None = None) -> str | None:
        return await self._fetchval("member_role", frame_id, user_id, conn=conn)  # type: ignore[no-any-return]

    async def member_roles(self, frame_id: UUID) -> dict[UUID, str]:
        """Every member of the frame and its role."""
        return {r["user_id"]: r["role"] for r in await self._fetch("member_roles", frame_id)}

    # --- liquid --------------------------------------------------------------------------------

    async def insert_liquid(self, conn: Tx, *, frame_id: UUID, character_id: UUID,
                            user_id: UUID | None, content: str, refined_text: str | None,
                            pscale: int, timer_duration: float, interruptive: bool,
                            interrupt_targets: list[UUID], soft_source: str,
                            soft_note: str | None, now: datetime, client_key: str | None = None
                            ) -> LiquidEntry | None:
        """The new row; None when ``client_key`` was already used for this character.

        In an ``as_user`` transaction the player writes only the draft (RLS and column
        privileges decide; ``user_id`` is the JWT's, whatever is passed), then the service
        writes this soft analysis and ``now`` onto it in the same transaction."""
        if conn.user_id is None:
            row = await self._fetchrow(
                "insert_liquid", frame_id, character_id, user_id, content, refined_text, pscale,
                timer_duration, interruptive, interrupt_targets, soft_source, soft_note, now,
                client_key, conn=conn)
            return _model(LiquidEntry, row) if row else None
        liquid_id = await self._fetchval("insert_liquid_draft", frame_id, character_id, content,
                                         client_key, conn=conn)
        if liquid_id is None:
            return None
        async with conn.as_service():
            row = await self._fetchrow(
                "set_liquid_analysis", frame_id, liquid_id, refined_text, pscale, timer_duration,
                interruptive, interrupt_targets, soft_source, soft_note, now, conn=conn)
        if row is None:  # inserted by this transaction a statement ago: no one else can see it
            raise RuntimeError("liquid insert: the new draft is not a draft")
        return _model(LiquidEntry, row)

    async def find_liquid_by_key(self, conn: Tx, frame_id: UUID, character_id: UUID,
                                 client_key: str) -> LiquidEntry | None:
        row = await self._fetchrow("find_liquid_by_key", frame_id, character_id, client_key, conn=conn)
        return _model(LiquidEntry, row) if row else None

    async def commit_liquid(self, conn: Tx, frame_id: UUID, liquid_id: UUID,
                            now: datetime) -> LiquidEntry:
        """Commit a draft: ``timing.commit_decision`` on a snapshot read under the frame lock,
        applied by ``medium_commit_v2`` in the caller's transaction. With claims set (an
        ``as_user`` transaction), the caller must own the liquid's character."""
        async with conn.as_service():
            doc = await self._fetchval("commit_snapshot", frame_id, liquid_id, conn=conn)
            plan = commit.commit_plan(doc, now)
            row = await self._fetchrow("commit_apply", frame_id, liquid_id, plan, conn=conn)
            frozen = pacing.queued_remaining(row["paused_at"], plan.get("open_window"))
            if frozen is not None:
                await self._fetchval("gm_freeze_window", frame_id, UUID(plan["open_window"]["id"]), frozen,
                                     conn=conn)
        return LiquidEntry.model_validate(row["liquid"])

    async def find_liquid(self, liquid_id: UUID, *, conn: Tx | None = None
                          ) -> LiquidEntry | None:
        row = await self._fetchrow("find_liquid", liquid_id, conn=conn)
        return _model(LiquidEntry, row) if row else None

    # --- windows (workers) ---------------------------------------------------------------------

    async def claim_due_windows(self, now: datetime, *, limit: int, worker_id: str,
                                lease_seconds: float, session: int | None = None) -> list[Window]:
        """Claim due windows; ``session`` is the claim-session lock the caller holds (None:
        the claims fall back on the lease alone)."""
        rows = await self._fetch("claim_due_windows", now, limit, worker_id, lease_seconds, session)
        return [_model(Window, r) for r in rows]

    async def next_due(self) -> datetime | None:
        return await self._fetchval("next_due")  # type: ignore[no-any-return]

    async def heartbeat(self, window_ids: list[UUID], now: datetime, lease_seconds: float,
                        worker_id: str, session: int | None = None) -> list[UUID]:
        rows = await self._fetch("heartbeat", window_ids, now, lease_seconds, worker_id, session)
        return [r["id"] for r in rows]

    async def reschedule_window(self, window_id: UUID, worker_id: str, due: datetime, error: str
                                ) -> bool:
        return bool(await self._fetch("reschedule_window", window_id, worker_id, due, error[:2000]))

    async def release_windows(self, window_ids: list[UUID], worker_id: str, now: datetime
                              ) -> list[UUID]:
        return [r["id"] for r in await self._fetch("release_windows", window_ids, worker_id, now)]

    async def fail_window(self, frame_id: UUID, window_id: UUID, error: str, now: datetime
                          ) -> Window | None:
        async with self.transaction(lock_frame=frame_id) as conn:
            row = await self._fetchrow("fail_window", frame_id, window_id, error[:2000], now, conn=conn)
            if row is None:
                return None
            window = _model(Window, row)
            await self.emit(conn, frame_id, [("timer", window.id, await self._timer_audience(conn, window))])
            return window

    async def _audience(self, conn: Tx, frame_id: UUID, character_id: UUID
                        ) -> list[UUID]:
        ch = await self.get_character(frame_id, character_id, conn=conn)
        return [ch.user_id] if ch and ch.user_id else []

    async def _timer_audience(self, conn: Tx, window: Window) -> list[UUID] | None:
        """Who hears of a window's timer: a frame-level window (shared mode) is every member's;
        a character's window is its owner's (the GM hears every event)."""
        if window.scope == "frame":
            return None
        return await self._audience(conn, window.frame_id, window.character_id)

    async def emit(self, conn: Tx, frame_id: UUID,
                   events: list[tuple[str, UUID, list[UUID] | None]]) -> int | None:
        """Append realtime events in one statement (audience None: every member). Runs as the
        service role, in the caller's transaction, which must hold the frame lock."""
        payload = [{"type": t, "ref_id": str(ref), "audience": None if aud is None else [str(a) for a in aud]}
                   for t, ref, aud in events]
        async with conn.as_service():
            return await self._fetchval("emit", frame_id, payload, conn=conn)  # type: ignore[no-any-return]

    async def gather(self, frame_id: UUID, window_id: UUID | None, *, recent: int = 2,
                     character_id: UUID | None = None) -> dict[str, Any]:
        """Everything one Medium may need, read in one statement (one snapshot). With no window,
        gathers for ``character_id`` as if it woke now (the directive preview)."""
        doc = await self._fetchval("gather", frame_id, window_id, recent, character_id)
        if doc is None or doc.get("frame") is None:
            raise errors.NotFound("frame not found", field="frame_id")
        if window_id is not None and doc.get("window") is None:
            raise errors.NotFound("window not found", field="window_id")
        if doc.get("character_id") is None:
            raise errors.NotFound("character not found", field="character_id")
        return doc  # type: ignore[no-any-return]

    async def open_window_of(self, frame_id: UUID, character_id: UUID) -> UUID | None:
        """The open window holding this character's committed liquid (its own, or the frame-level
        window it joined in shared mode), or None."""
        return await self._fetchval("open_window_of", frame_id, character_id)  # type: ignore[no-any-return]

    async def route(self, frame_id: UUID, window_id: UUID, character_ids: list[UUID],
                    decide: Callable[[route.RouteSnapshot], route.RoutePlan]) -> route.RoutePlan:
        """Route one Medium's result in ONE transaction: the route snapshot is read under the
        frame lock, ``decide`` (``route.plan``, pure) makes the plan, and ``medium_apply_v2``
        writes exactly its rows. Idempotent by window: a routed window yields a no-op plan."""
        async with self.transaction() as tx:
            doc = await self._fetchval("route_snapshot", frame_id, window_id, character_ids, conn=tx)
            plan = decide(route.RouteSnapshot.from_doc(doc))
            if plan.routed:
                await self._fetchval("apply", frame_id, plan.to_json(), conn=tx)
                if plan.held and plan.outcome is not None:  # the frame holds outcomes for review
                    await self._fetchval("review_hold", frame_id, plan.outcome.id, plan.solids[0].id, conn=tx)
                # a synthesis in flight when the GM paused: the windows it opens wait, frozen
                for wid, secs in pacing.opened_while_paused((doc.get("frame") or {}).get("paused_at"),
                                                            plan.open_windows):
                    await self._fetchval("gm_freeze_window", frame_id, wid, secs, conn=tx)
            return plan

    async def publish_delta(self, payload: str) -> None:
        """One ``narrative_delta`` NOTIFY (synthesis/narrative_stream.py): ephemeral, outside any
        transaction, never stored."""
        await self._fetchval("publish_delta", payload)

    async def get_window(self, frame_id: UUID, window_id: UUID) -> Window | None:
        row = await self._fetchrow("get_window", frame_id, window_id)
        return _model(Window, row) if row else None

    async def open_windows(self, frame_id: UUID, *, conn: Tx | None = None
                           ) -> list[Window]:
        return [_model(Window, r) for r in await self._fetch("open_windows", frame_id, conn=conn)]

    async def set_presence(self, frame_id: UUID, user_id: UUID, gateway: str, connections: int,
                           now: datetime) -> None:
        """How many WebSocket connections ``gateway`` holds for this user in this frame."""
        await self._fetch("presence_set", frame_id, user_id, gateway, connections, now)

    async def actor_candidates(self, limit: int, budget_since: datetime, present_since: datetime
                               ) -> list[dict[str, Any]]:
        """NPCs that could act now (see the ``actor_candidates`` query)."""
        return [dict(r) for r in await self._fetch("actor_candidates", limit, budget_since, present_since)]

    # --- reading -------------------------------------------------------------------------------

    async def events_since(self, frame_id: UUID, since: int, *, limit: int = 1000,
                           conn: Tx | None = None) -> list[Event]:
        rows = await self._fetch("events_since", frame_id, since, limit, conn=conn)
        return [_model(Event, r) for r in rows]

    async def outcomes(self, frame_id: UUID, *, since: int = 0, limit: int = 1000,
                       conn: Tx | None = None) -> list[OutcomeRow]:
        rows = await self._fetch("list_outcomes", frame_id, since, limit, conn=conn)
        return [_model(OutcomeRow, r) for r in rows]

    async def solids(self, frame_id: UUID, *, since: int = 0, limit: int = 1000,
                     conn: Tx | None = None) -> list[SolidRow]:
        """Solids after ``since``. In an ``as_user`` transaction (RLS) without the directive,
        which players may not read (it is ``""`` then)."""
        name = "list_solid_as_user" if conn is not None and conn.user_id is not None else "list_solid"
        rows = await self._fetch(name, frame_id, since, limit, conn=conn)
        return [_model(SolidRow, r) for r in rows]

    async def character_solid(self, frame_id: UUID, character_id: UUID) -> list[SolidRow]:
        rows = await self._fetch("character_solid", frame_id, character_id)
        return [_model(SolidRow, r) for r in rows]

    async def runtime_models(self) -> list[dict[str, Any]]:
        """The `models` rows the LLM registry resolves at runtime (keys still encrypted)."""
        return [dict(r) for r in await self._fetch("runtime_models")]
