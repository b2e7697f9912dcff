"""The store's queries for the GM's controls (``synthesis/sql/gm.sql``): pacing, GM narration
and out-of-character chat (issue 15).

Each GM action runs in one transaction that holds the frame lock: the snapshot is read, a pure
function (``synthesis/pacing.py``, ``synthesis/narration.py``) makes the plan, and
``medium_gm_apply_v1`` writes exactly its rows. This module never touches the driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from synthesis import errors, pacing, review, route
from synthesis.store import Connection, Store
from synthesis.store_queries import _model
from synthesis.types import OocMessage, Window
from synthesis.types_epistemic import KnowledgeOverride


class GmStore(Store):
    """``Store`` plus the GM's pacing, narration and OOC chat."""

    @asynccontextmanager
    async def as_member_locked(self, user_id: UUID, frame_id: UUID) -> AsyncIterator[tuple[Connection, str]]:
        """A service transaction holding the frame lock, for a member's write: yields the
        connection and the caller's role; not a member → NotFound."""
        async with self.transaction() as conn:
            role = None
            if await self.lock_frame(conn, frame_id):
                role = await self.member_role(frame_id, user_id, conn=conn)
            if role is None:
                raise errors.NotFound("frame not found", field="frame_id")
            yield conn, role

    async def window_frame(self, window_id: UUID) -> UUID | None:
        """The frame of a window named by its id alone."""
        return await self._fetchval("gm_window_frame", window_id)  # type: ignore[no-any-return]

    async def pace_snapshot(self, conn: Connection, frame_id: UUID) -> pacing.PaceSnapshot:
        """What a pacing decision needs, read in ``conn`` (which holds the frame lock)."""
        frame = await self.get_frame(frame_id, conn=conn)
        if frame is None:
            raise errors.NotFound("frame not found", field="frame_id")
        windows = [_model(Window, r) for r in await self._fetch("gm_open_windows", frame_id, conn=conn)]
        users = {c.id: c.user_id for c in await self.list_characters(frame_id, conn=conn)}
        return pacing.PaceSnapshot(frame_id, frame.paused_at, tuple(windows), users,
                                   clock_seconds=frame.clock_seconds, perceive_seconds=frame.perceive_seconds,
                                   mode=frame.mode)

    async def gm_apply(self, conn: Connection, plan: pacing.GmPlan) -> None:
        await self._fetchval("gm_apply", plan.frame_id, plan.to_json(), conn=conn)

    async def pace(self, conn: Connection, frame_id: UUID,
                   decide: Callable[[pacing.PaceSnapshot], pacing.GmPlan]) -> tuple[pacing.PaceSnapshot, pacing.GmPlan]:
        """One pacing action in ``conn``'s transaction: snapshot, ``decide`` (pure), apply."""
        snap = await self.pace_snapshot(conn, frame_id)
        plan = decide(snap)
        await self.gm_apply(conn, plan)
        return snap, plan

    # --- hold for review -------------------------------------------------------------------------

    async def outcome_frame(self, outcome_id: UUID) -> UUID | None:
        """The frame of an outcome named by its id alone."""
        return await self._fetchval("review_outcome_frame", outcome_id)  # type: ignore[no-any-return]

    async def review(self, conn: Connection, frame_id: UUID, outcome_id: UUID,
                     decide: Callable[[review.ReviewSnapshot], review.ReviewPlan]) -> review.ReviewPlan:
        """One review in ``conn``'s transaction (holding the frame lock): snapshot, ``decide``
        (pure), apply; windows it opens in a paused frame are frozen."""
        doc = await self._fetchval("review_snapshot", frame_id, outcome_id, conn=conn)
        snap = review.ReviewSnapshot.from_doc(doc)
        plan = decide(snap)
        await self._fetchval("review_apply", frame_id, plan.to_json(), conn=conn)
        for wid, secs in pacing.opened_while_paused(snap.paused_at, plan.effects.opened):
            await self._fetchval("gm_freeze_window", frame_id, wid, secs, conn=conn)
        return plan

    # --- out-of-character chat -------------------------------------------------------------------

    async def post_ooc(self, conn: Connection, frame_id: UUID, user_id: UUID, role: str, text: str,
                       now: datetime) -> OocMessage:
        """One OOC message and its event (every member), in ``conn`` (holding the frame lock)."""
        message_id = route.new_id()
        seq = await self.emit(conn, frame_id, [("ooc", message_id, None)])
        row = await self._fetchrow("ooc_insert", frame_id, message_id, seq, user_id, role, text, now,
                                   conn=conn)
        return _model(OocMessage, row)

    async def ooc_since(self, conn: Connection, frame_id: UUID, since: int, limit: int) -> list[OocMessage]:
        """As user (RLS: members only): the frame's OOC messages after cursor ``since``."""
        return [_model(OocMessage, r) for r in await self._fetch("ooc_since", frame_id, since, limit, conn=conn)]

    # --- the epistemic view's knowledge overrides --------------------------------------------------

    async def knowledge_overrides(self, frame_id: UUID, character_id: UUID, *,
                                  conn: Connection | None = None) -> list[KnowledgeOverride]:
        """The GM's overrides of one character's knowledge, oldest first."""
        rows = await self._fetch("knowledge_overrides_of", frame_id, character_id, conn=conn)
        return [_model(KnowledgeOverride, r) for r in rows]

    async def add_knowledge_override(self, conn: Connection, frame_id: UUID, character_id: UUID,
                                     kind: str, text: str, fact_id: str | None, user_id: UUID,
                                     now: datetime) -> KnowledgeOverride:
        """One override and its ``frame`` event (the GM only), in ``conn`` (holding the frame lock)."""
        row = await self._fetchrow("knowledge_override_insert", frame_id, character_id, kind, text,
                                   fact_id, user_id, now, conn=conn)
        await self.emit(conn, frame_id, [("frame", frame_id, [])])
        return _model(KnowledgeOverride, row)

    async def delete_knowledge_override(self, conn: Connection, frame_id: UUID, character_id: UUID,
                                        override_id: UUID) -> KnowledgeOverride | None:
        """Remove one override (None: no such override of this character) and log a ``frame``
        event (the GM only)."""
        row = await self._fetchrow("knowledge_override_delete", frame_id, character_id, override_id,
                                   conn=conn)
        if row is None:
            return None
        await self.emit(conn, frame_id, [("frame", frame_id, [])])
        return _model(KnowledgeOverride, row)
