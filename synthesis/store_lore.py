"""The store's queries for the author and designer faces (``synthesis/sql/lore.sql``): lore
entries, the frame's rules and the log of what changed. A mixin of ``Store`` (scenario files and
frame import write lore too); it talks to the database only through ``Store``'s named-query
methods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from synthesis import errors
from synthesis.store_queries import Queries, _model
from synthesis.types import Frame, LoreEntry, Row

if TYPE_CHECKING:
    from synthesis.store import Tx as Connection


class FrameChange(Row):
    id: UUID
    frame_id: UUID
    seq: int
    kind: str
    changed_by: UUID | None = None
    detail: dict[str, Any]
    created_at: Any = None


class LoreQueries(Queries):
    """Lore, rules and the change log, as a mixin of ``Store``."""

    async def list_lore(self, frame_id: UUID, *, conn: Connection | None = None) -> list[LoreEntry]:
        """Every entry (as service), or, in an ``as_user`` transaction, those RLS lets the caller read."""
        return [_model(LoreEntry, r) for r in await self._fetch("lore_list", frame_id, conn=conn)]

    async def get_lore(self, frame_id: UUID, lore_id: UUID, *, conn: Connection | None = None) -> LoreEntry:
        row = await self._fetchrow("lore_get", frame_id, lore_id, conn=conn)
        if row is None:
            raise errors.NotFound("lore entry not found", field="lore_id")
        return _model(LoreEntry, row)

    async def insert_lore(self, conn: Connection, frame_id: UUID, entry: dict[str, Any],
                          created_by: UUID | None) -> LoreEntry:
        row = await self._fetchrow("lore_insert", frame_id, entry["title"], entry["text"], entry["keywords"],
                                   entry["visibility"], entry["always"], created_by, conn=conn)
        return _model(LoreEntry, row)

    async def update_lore(self, conn: Connection, frame_id: UUID, lore_id: UUID, patch: dict[str, Any]
                          ) -> LoreEntry:
        row = await self._fetchrow("lore_update", frame_id, lore_id, patch.get("title"), patch.get("text"),
                                   patch.get("keywords"), patch.get("visibility"), patch.get("always"),
                                   conn=conn)
        if row is None:
            raise errors.NotFound("lore entry not found", field="lore_id")
        return _model(LoreEntry, row)

    async def delete_lore(self, conn: Connection, frame_id: UUID, lore_id: UUID) -> LoreEntry:
        row = await self._fetchrow("lore_delete", frame_id, lore_id, conn=conn)
        if row is None:
            raise errors.NotFound("lore entry not found", field="lore_id")
        return _model(LoreEntry, row)

    async def update_rules(self, conn: Connection, frame_id: UUID, json_rules: dict[str, Any],
                           npc_budget_per_hour: int | None) -> Frame:
        row = await self._fetchrow("frame_rules_update", frame_id, json_rules, npc_budget_per_hour, conn=conn)
        if row is None:
            raise errors.NotFound("frame not found", field="frame_id")
        return _model(Frame, row)

    async def log_change(self, conn: Connection, frame_id: UUID, kind: str, changed_by: UUID | None,
                         detail: dict[str, Any]) -> FrameChange:
        """One row of the author/designer change log, in the caller's transaction."""
        return _model(FrameChange, await self._fetchrow("frame_change_insert", frame_id, kind, changed_by,
                                                        detail, conn=conn))

    async def frame_changes(self, frame_id: UUID, *, since: int = 0, limit: int = 200,
                            conn: Connection | None = None) -> list[FrameChange]:
        return [_model(FrameChange, r) for r in await self._fetch("frame_changes_list", frame_id, since, limit,
                                                                  conn=conn)]

    async def recall_candidates(self, frame_id: UUID, character_id: UUID, action: str, *,
                                skip_solids: list[UUID], limit: int = 40) -> list[dict[str, Any]]:
        """The character's own history that full-text matches ``action`` (``synthesis/recall.py``
        ranks it): ``{kind, id, seq, item, rank}``, best match first."""
        rows = await self._fetch("recall_candidates", frame_id, character_id, action, skip_solids, limit)
        return [dict(r) for r in rows]

    async def witnessed(self, frame_id: UUID, character_id: UUID) -> tuple[set[UUID], set[UUID]]:
        """(the character's own solid ids, the outcome ids they incorporated)."""
        rows = await self._fetch("witnessed", frame_id, character_id)
        return {r["id"] for r in rows}, {o for r in rows for o in r["outcome_ids"]}

    async def memory_latest(self, frame_id: UUID, character_id: UUID) -> dict[str, Any] | None:
        row = await self._fetchrow("memory_latest", frame_id, character_id)
        return dict(row) if row is not None else None

    async def memory_list(self, frame_id: UUID, *, conn: Connection | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in await self._fetch("memory_list", frame_id, conn=conn)]

    async def memory_source(self, frame_id: UUID, character_id: UUID, after_seq: int) -> dict[str, Any]:
        return await self._fetchval("memory_source", frame_id, character_id, after_seq)  # type: ignore[no-any-return]

    async def memory_insert(self, frame_id: UUID, character_id: UUID, *, version: int, through_seq: int,
                            summary: str, solids: list[UUID], outcomes: list[UUID], redacted: int,
                            model: str) -> dict[str, Any] | None:
        row = await self._fetchrow("memory_insert", frame_id, character_id, version, through_seq, summary,
                                   solids, outcomes, redacted, model)
        return dict(row) if row is not None else None

    async def memory_due(self, frame_id: UUID, character_id: UUID) -> dict[str, int]:
        row = await self._fetchrow("memory_due", frame_id, character_id)
        return {k: int(v) for k, v in dict(row).items()}
