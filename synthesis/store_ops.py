"""The store's queries for the load test and the benchmarks (``synthesis/sql/ops.sql``).

None of them runs in play: ``medium loadtest`` reads its frames for the live display, the
drain and the report; ``medium bench`` seeds its fresh databases. Like ``store_api``, this
module reaches the database only through ``Store``'s named-query plumbing, so ``store.py``
stays the only asyncpg user. Rows come back as frozen models; ids are text and times are
epoch seconds, as the report compares them with the players' ``time.time()`` stamps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis.store import Connection, Store
from synthesis.store_queries import _model
from synthesis.types import Row


class Progress(Row):
    """What the live display shows once a second."""

    committed: int
    resolved: int
    narratives: int
    open: int
    claimed: int
    done: int
    failed: int
    cancelled: int
    p99: float | None  # ms a claim came after its window's due time


class RunWindow(Row):
    frame_id: str
    id: str
    character_id: str
    seq: int
    status: str
    trigger_mode: str
    pscale: int
    opened_at: float
    due_at: float
    claimed_at: float | None
    completed_at: float | None
    lease_expires_at: float | None
    attempts: int
    interrupt_source_id: str | None
    last_error: str | None


class RunSolid(Row):
    frame_id: str
    id: str
    window_id: str | None
    character_id: str
    user_id: str | None
    seq: int
    outcome_ids: list[str] | None
    incorporated_through: int
    created_at: float
    prompt_tokens: int
    completion_tokens: int
    source_liquid_ids: list[str] | None
    participant_user_ids: list[str] | None


class RunOutcome(Row):
    frame_id: str
    id: str
    window_id: str | None
    seq: int
    source_character_id: str | None
    interrupts: list[dict[str, Any]] | None  # jsonb, as the route wrote it
    created_at: float


class RunLiquid(Row):
    frame_id: str
    id: str
    window_id: str | None
    character_id: str
    user_id: str | None
    status: str
    committed_at: float | None
    soft_source: str = "fallback"
    soft_note: str | None = None


class DrainStatus(Row):
    live: int  # open or claimed windows
    live_old: int  # of those, opened before the players stopped
    overdue: int  # open past due, or claimed past the lease, by more than the slack
    last_due: float | None  # epoch seconds of the latest open window's due time
    pending_old: int  # liquid committed before the players stopped, not resolved, not failed


class WindowTotals(Row):
    done: int
    first_claimed: datetime | None
    last_completed: datetime | None


class OpsStore(Store):
    """``Store`` plus the reads of the load test and the writes that seed a benchmark. Methods
    taking ``conn`` run in the caller's transaction (the report's snapshot, a seed)."""

    # --- the load test -------------------------------------------------------------------------

    async def run_progress(self, frame_ids: list[str]) -> Progress:
        return _model(Progress, await self._fetchrow("ops_progress", frame_ids))

    async def server_clock(self, *, conn: Connection | None = None) -> float:
        """The server's wall clock, epoch seconds (``clock_timestamp()``, not the
        transaction's start)."""
        return float(await self._fetchval("ops_clock", conn=conn))

    async def run_windows(self, frame_ids: list[str], *, conn: Connection | None = None) -> list[RunWindow]:
        return [_model(RunWindow, r) for r in await self._fetch("ops_windows", frame_ids, conn=conn)]

    async def run_solid(self, frame_ids: list[str], *, conn: Connection | None = None) -> list[RunSolid]:
        return [_model(RunSolid, r) for r in await self._fetch("ops_solid", frame_ids, conn=conn)]

    async def run_outcomes(self, frame_ids: list[str], *, conn: Connection | None = None) -> list[RunOutcome]:
        return [_model(RunOutcome, r) for r in await self._fetch("ops_outcomes", frame_ids, conn=conn)]

    async def run_liquid(self, frame_ids: list[str], *, conn: Connection | None = None) -> list[RunLiquid]:
        return [_model(RunLiquid, r) for r in await self._fetch("ops_liquid", frame_ids, conn=conn)]

    async def run_claimed_by(self, frame_ids: list[str], worker_id: str) -> list[str]:
        """The windows ``worker_id`` holds claimed in the run's frames (after a kill: stranded)."""
        return [r["id"] for r in await self._fetch("ops_claimed_by", frame_ids, worker_id)]

    async def run_claimed_since(self, window_ids: list[str], since: float) -> dict[str, float]:
        """Of ``window_ids``, those claimed again at or after ``since`` (epoch s): their claim time."""
        rows = await self._fetch("ops_claimed_since", window_ids, since)
        return {r["id"]: float(r["claimed_at"]) for r in rows}

    async def pause_actors(self, frame_ids: list[str]) -> None:
        """Set the frames' actor budget to 0 (actors read it on every pass) and
        ``actors_always`` off."""
        await self._fetch("ops_pause_actors", frame_ids)

    async def drain_status(self, frame_ids: list[str], stop_at: float, overdue_seconds: float) -> DrainStatus:
        """``stop_at``: when the players stopped, epoch seconds."""
        return _model(DrainStatus, await self._fetchrow("ops_drain_status", frame_ids, stop_at,
                                                        overdue_seconds))

    # --- benchmark seeds -----------------------------------------------------------------------

    async def bench_insert_frame(self, conn: Connection, name: str, *, world: str = "",
                                 scenario: str = "") -> UUID:
        """A frame without perceive windows."""
        return UUID(str(await self._fetchval("bench_insert_frame", name, world, scenario, conn=conn)))

    async def bench_insert_people(self, conn: Connection, frame_id: UUID, count: int) -> None:
        """``count`` characters "Person <i>" with every knowledge layer filled."""
        await self._fetch("bench_insert_people", frame_id, count, conn=conn)

    async def bench_insert_characters(self, conn: Connection, frame_id: UUID, count: int) -> list[UUID]:
        """``count`` bare characters "c<i>"; their ids."""
        return [r["id"] for r in await self._fetch("bench_insert_characters", frame_id, count, conn=conn)]

    async def bench_seed_due_windows(self, conn: Connection, now: datetime) -> None:
        """For every character of the database, one window due at ``now`` carrying one
        committed action."""
        await self._fetch("bench_seed_due_windows", now, conn=conn)

    async def bench_insert_windows(self, conn: Connection, characters: list[UUID], dues: list[float],
                                   now: datetime) -> dict[UUID, UUID]:
        """One open window per character, due at the epoch second of the same index, in ONE
        statement: {window id: character id}."""
        rows = await self._fetch("bench_insert_windows", characters, dues, now, conn=conn)
        return {r["id"]: r["character_id"] for r in rows}

    async def bench_baseline_table(self) -> None:
        """The bare table of the insert baseline (``bench_baseline_insert``)."""
        await self._run("execute", "bench_baseline_table", (), None)

    async def bench_baseline_insert(self, row_id: int, payload: str) -> None:
        """One single-row INSERT, autocommit, on a pooled connection."""
        await self._run("execute", "bench_baseline_insert", (row_id, payload), None)

    async def bench_window_totals(self) -> WindowTotals:
        """Windows done, and the first claim and the last completion over every window."""
        return _model(WindowTotals, await self._fetchrow("bench_window_totals"))
