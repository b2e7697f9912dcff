"""The database layer: one method per named query, frozen models out. The only asyncpg user.

Driver errors are translated here into ``synthesis.errors`` (STYLE §8). Time is always a
parameter (``now``); the SQL never calls ``now()`` for scheduling decisions.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from synthesis import errors
from synthesis.types import (
    Character,
    Event,
    Frame,
    LiquidEntry,
    OutcomeRow,
    Row,
    SolidRow,
    Window,
)

SQL_DIR = Path(__file__).parent / "sql"
COMMAND_TIMEOUT = 60.0  # seconds; a statement that runs longer is treated as a lost connection
ACQUIRE_TIMEOUT = 15.0  # seconds to wait for a pooled connection (never hang on a dead pool)
QUERIES_PATH = SQL_DIR / "queries.sql"
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
# Everything the driver raises. InternalClientError is what asyncpg raises when a connection
# broken by a server restart is reused mid-protocol ("cannot switch to state ..."); it is not an
# InterfaceError, and letting it escape killed the worker's claim loop.
DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError,
                 OSError, TimeoutError)

M = TypeVar("M", bound=Row)
Connection = asyncpg.Connection
Pool = asyncpg.Pool


def load_queries(path: Path = SQL_DIR) -> dict[str, str]:
    """Parse ``-- name: x`` blocks into {name: sql}: one file, or every ``*.sql`` file of a
    directory (in name order). A name defined twice, in one file or across files, is an error."""
    files = sorted(path.glob("*.sql")) if path.is_dir() else [path]
    queries: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for file in files:
        parts = _NAME.split(file.read_text())
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in queries:
                raise ValueError(f"{file}: query {name!r} is defined twice (also in {origin[name]})")
            queries[name] = body.strip()
            origin[name] = file
    return queries


QUERIES = load_queries()


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=_dumps, decoder=json.loads, schema="pg_catalog")


def server_settings_for(realtime: str) -> dict[str, str]:
    """Per-connection settings: ``medium.realtime`` switches on Supabase Broadcast in the
    events trigger (migration ..._supabase_broadcast)."""
    return {"medium.realtime": realtime} if realtime == "supabase" else {}


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10,
                      timeout: float = 10.0, realtime: str = "notify") -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                         init=_init_connection, timeout=timeout,
                                         command_timeout=COMMAND_TIMEOUT,
                                         server_settings=server_settings_for(realtime))
    except DRIVER_ERRORS as exc:
        raise errors.DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    assert pool is not None
    return pool


async def connect(dsn: str, *, timeout: float = 10.0,
                  application_name: str | None = None) -> asyncpg.Connection:
    """A single dedicated connection (listeners, migrations), named in pg_stat_activity."""
    settings = {"application_name": application_name} if application_name else None
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout, server_settings=settings)
    except DRIVER_ERRORS as exc:
        raise errors.DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    await _init_connection(conn)
    return conn


_SQLSTATE_ERRORS: dict[str, type[errors.MediumError]] = {
    "MD404": errors.NotFound,
    "MD403": errors.Forbidden,
    "MD409": errors.Conflict,
    "MD422": errors.InvalidInput,
}
_CONSTRAINT_FIELDS = {
    "liquid_content_check": ("content", "content must be 1 to 2000 characters and not blank"),
    "liquid_pscale_check": ("pscale", "pscale must be between -3 and 2"),
    "windows_one_open": ("character_id", "the character already has an open window"),
    "windows_one_claimed": ("character_id", "the character already has a synthesis in flight"),
}


def translate(exc: BaseException) -> errors.MediumError:
    """Map a driver error to a domain error that names what is wrong."""
    if isinstance(exc, errors.MediumError):
        return exc
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", "") or ""
        message = getattr(exc, "message", str(exc))
        if state in _SQLSTATE_ERRORS:
            return _SQLSTATE_ERRORS[state](message)
        constraint = getattr(exc, "constraint_name", None) or ""
        if constraint in _CONSTRAINT_FIELDS:
            field, text = _CONSTRAINT_FIELDS[constraint]
            cls = errors.Conflict if constraint.startswith("windows_") else errors.InvalidInput
            return cls(text, field=field)
        if isinstance(exc, asyncpg.InsufficientPrivilegeError):
            return errors.Forbidden(message)
        if isinstance(exc, asyncpg.UniqueViolationError):
            return errors.Conflict(f"already exists ({constraint or message})")
        if isinstance(exc, asyncpg.ForeignKeyViolationError):
            return errors.NotFound(f"a referenced row does not exist ({constraint or message})")
        if isinstance(exc, asyncpg.CheckViolationError | asyncpg.NotNullViolationError
                      | asyncpg.DataError):
            return errors.InvalidInput(f"{message} ({constraint})" if constraint else message)
        if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError
                      | asyncpg.OperatorInterventionError) or state.startswith(("08", "57P")):
            return errors.DatabaseUnavailable(message)
        if state in ("40P01", "40001"):  # deadlock / serialization failure: safe to retry
            return errors.Conflict(f"the request collided with a concurrent change; try again ({message})")
        return errors.MediumError(f"database error: {message}")
    if isinstance(exc, OSError | asyncpg.InterfaceError | asyncpg.exceptions.InternalClientError
                  | ConnectionError | TimeoutError):
        return errors.DatabaseUnavailable(f"database connection lost: {exc!r}")
    return errors.MediumError(str(exc))


def _model(cls: type[M], record: Any) -> M:
    return cls.model_validate(dict(record))


class Store:
    """Query methods over a pool. Pass ``conn`` to run inside a caller's transaction."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    # --- plumbing ------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self, *, isolation: str = "read_committed"
                          ) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn, \
                    conn.transaction(isolation=isolation):
                yield conn
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    @asynccontextmanager
    async def as_user(self, user_id: UUID, *, claims: dict[str, Any] | None = None
                      ) -> AsyncIterator[asyncpg.Connection]:
        """A transaction running as ``authenticated`` with Supabase-style JWT claims, so RLS
        applies exactly as it would to a PostgREST request from that user."""
        payload = {"sub": str(user_id), "role": "authenticated", **(claims or {})}
        async with self.transaction() as conn:
            await conn.execute(
                "SELECT set_config('request.jwt.claims', $1, true), "
                "set_config('role', 'authenticated', true)", json.dumps(payload))
            yield conn

    @asynccontextmanager
    async def as_user_locked(self, user_id: UUID, frame_id: UUID) -> AsyncIterator[asyncpg.Connection]:
        """``as_user`` with the frame row locked first, for RLS-checked writes that then append
        events (``trusted`` + ``emit``) without breaking the frame-first lock order."""
        async with self.as_user(user_id) as conn:
            await self.trusted(conn)
            await self.fetchrow("lock_frame", frame_id, conn=conn)
            await self.fetchval("become_user", conn=conn)
            yield conn

    async def trusted(self, conn: asyncpg.Connection) -> None:
        """Inside ``as_user``, after the RLS-checked statements: back to the connecting role."""
        await self.fetchval("reset_role", conn=conn)

    async def _run(self, method: str, name: str, args: Sequence[Any],
                   conn: asyncpg.Connection | None) -> Any:
        sql = QUERIES[name]
        try:
            if conn is not None:
                return await getattr(conn, method)(sql, *args)
            async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as c:
                return await getattr(c, method)(sql, *args)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    async def fetch(self, name: str, *args: Any, conn: asyncpg.Connection | None = None
                    ) -> list[asyncpg.Record]:
        return await self._run("fetch", name, args, conn)  # type: ignore[no-any-return]

    async def fetchrow(self, name: str, *args: Any, conn: asyncpg.Connection | None = None
                       ) -> asyncpg.Record | None:
        return await self._run("fetchrow", name, args, conn)

    async def fetchval(self, name: str, *args: Any, conn: asyncpg.Connection | None = None) -> Any:
        return await self._run("fetchval", name, args, conn)

    # --- frames & cast -------------------------------------------------------------------------

    async def get_frame(self, frame_id: UUID, *, conn: asyncpg.Connection | None = None
                        ) -> Frame | None:
        row = await self.fetchrow("get_frame", frame_id, conn=conn)
        return _model(Frame, row) if row else None

    async def list_characters(self, frame_id: UUID, *, conn: asyncpg.Connection | None = None
                              ) -> list[Character]:
        return [_model(Character, r) for r in await self.fetch("list_characters", frame_id, conn=conn)]

    async def get_character(self, frame_id: UUID, character_id: UUID, *,
                            conn: asyncpg.Connection | None = None) -> Character | None:
        row = await self.fetchrow("get_character", frame_id, character_id, conn=conn)
        return _model(Character, row) if row else None

    async def member_role(self, frame_id: UUID, user_id: UUID, *,
                          conn: asyncpg.Connection | None = None) -> str | None:
        return await self.fetchval("member_role", frame_id, user_id, conn=conn)  # type: ignore[no-any-return]

    async def member_roles(self, frame_id: UUID) -> dict[UUID, str]:
        """Every member of the frame and its role."""
        return {r["user_id"]: r["role"] for r in await self.fetch("member_roles", frame_id)}

    # --- liquid --------------------------------------------------------------------------------

    async def insert_liquid(self, conn: asyncpg.Connection, *, frame_id: UUID, character_id: UUID,
                            user_id: UUID | None, content: str, refined_text: str | None,
                            pscale: int, timer_duration: float, interruptive: bool,
                            interrupt_targets: list[UUID], soft_source: str,
                            soft_note: str | None, now: datetime, client_key: str | None = None
                            ) -> LiquidEntry | None:
        """The new row; None when ``client_key`` was already used for this character."""
        row = await self.fetchrow(
            "insert_liquid", frame_id, character_id, user_id, content, refined_text, pscale,
            timer_duration, interruptive, interrupt_targets, soft_source, soft_note, now, client_key,
            conn=conn)
        return _model(LiquidEntry, row) if row else None

    async def find_liquid_by_key(self, conn: asyncpg.Connection, frame_id: UUID, character_id: UUID,
                                 client_key: str) -> LiquidEntry | None:
        row = await self.fetchrow("find_liquid_by_key", frame_id, character_id, client_key, conn=conn)
        return _model(LiquidEntry, row) if row else None

    async def commit_liquid(self, conn: asyncpg.Connection, frame_id: UUID, liquid_id: UUID,
                            now: datetime) -> LiquidEntry:
        doc = await self.fetchval("commit_liquid", frame_id, liquid_id, now, conn=conn)
        return LiquidEntry.model_validate(doc)

    async def find_liquid(self, liquid_id: UUID, *, conn: asyncpg.Connection | None = None
                          ) -> LiquidEntry | None:
        row = await self.fetchrow("find_liquid", liquid_id, conn=conn)
        return _model(LiquidEntry, row) if row else None

    # --- windows (workers) ---------------------------------------------------------------------

    async def claim_due_windows(self, now: datetime, *, limit: int, worker_id: str,
                                lease_seconds: float) -> list[Window]:
        rows = await self.fetch("claim_due_windows", now, limit, worker_id, lease_seconds)
        return [_model(Window, r) for r in rows]

    async def next_due(self) -> datetime | None:
        return await self.fetchval("next_due")  # type: ignore[no-any-return]

    async def heartbeat(self, window_ids: list[UUID], now: datetime, lease_seconds: float,
                        worker_id: str) -> list[UUID]:
        rows = await self.fetch("heartbeat", window_ids, now, lease_seconds, worker_id)
        return [r["id"] for r in rows]

    async def reschedule_window(self, window_id: UUID, worker_id: str, due: datetime, error: str
                                ) -> bool:
        return bool(await self.fetch("reschedule_window", window_id, worker_id, due, error[:2000]))

    async def release_windows(self, window_ids: list[UUID], worker_id: str, now: datetime
                              ) -> list[UUID]:
        return [r["id"] for r in await self.fetch("release_windows", window_ids, worker_id, now)]

    async def fail_window(self, frame_id: UUID, window_id: UUID, error: str, now: datetime
                          ) -> Window | None:
        async with self.transaction() as conn:
            row = await self.fetchrow("fail_window", frame_id, window_id, error[:2000], now, conn=conn)
            if row is None:
                return None
            window = _model(Window, row)
            await self.emit(conn, frame_id, [("timer", window.id, await self._audience(
                conn, frame_id, window.character_id))])
            return window

    async def _audience(self, conn: asyncpg.Connection, frame_id: UUID, character_id: UUID
                        ) -> list[UUID]:
        ch = await self.get_character(frame_id, character_id, conn=conn)
        return [ch.user_id] if ch and ch.user_id else []

    async def emit(self, conn: asyncpg.Connection, frame_id: UUID,
                   events: list[tuple[str, UUID, list[UUID] | None]]) -> int | None:
        """Append realtime events in one statement; audience None means every member."""
        payload = [{"type": t, "ref_id": str(ref), "audience": None if aud is None else [str(a) for a in aud]}
                   for t, ref, aud in events]
        return await self.fetchval("emit", frame_id, payload, conn=conn)  # type: ignore[no-any-return]

    async def gather(self, frame_id: UUID, window_id: UUID | None, *, recent: int = 2,
                     character_id: UUID | None = None) -> dict[str, Any]:
        """Everything one Medium may need, read in one statement (one snapshot). With no window,
        gathers for ``character_id`` as if it woke now (the directive preview)."""
        doc = await self.fetchval("gather", frame_id, window_id, recent, character_id)
        if doc is None or doc.get("frame") is None:
            raise errors.NotFound("frame not found", field="frame_id")
        if window_id is not None and doc.get("window") is None:
            raise errors.NotFound("window not found", field="window_id")
        if doc.get("character_id") is None:
            raise errors.NotFound("character not found", field="character_id")
        return doc  # type: ignore[no-any-return]

    async def route(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Write one Medium's result in one transaction; idempotent by window."""
        return await self.fetchval("route", payload)  # type: ignore[no-any-return]

    async def get_window(self, frame_id: UUID, window_id: UUID) -> Window | None:
        row = await self.fetchrow("get_window", frame_id, window_id)
        return _model(Window, row) if row else None

    async def open_windows(self, frame_id: UUID, *, conn: asyncpg.Connection | None = None
                           ) -> list[Window]:
        return [_model(Window, r) for r in await self.fetch("open_windows", frame_id, conn=conn)]

    # --- reading -------------------------------------------------------------------------------

    async def events_since(self, frame_id: UUID, since: int, *, limit: int = 1000,
                           conn: asyncpg.Connection | None = None) -> list[Event]:
        rows = await self.fetch("events_since", frame_id, since, limit, conn=conn)
        return [_model(Event, r) for r in rows]

    async def outcomes(self, frame_id: UUID, *, since: int = 0, limit: int = 1000,
                       conn: asyncpg.Connection | None = None) -> list[OutcomeRow]:
        rows = await self.fetch("list_outcomes", frame_id, since, limit, conn=conn)
        return [_model(OutcomeRow, r) for r in rows]

    async def solids(self, frame_id: UUID, *, since: int = 0, limit: int = 1000,
                     conn: asyncpg.Connection | None = None) -> list[SolidRow]:
        rows = await self.fetch("list_solid", frame_id, since, limit, conn=conn)
        return [_model(SolidRow, r) for r in rows]

    async def character_solid(self, frame_id: UUID, character_id: UUID) -> list[SolidRow]:
        rows = await self.fetch("character_solid", frame_id, character_id)
        return [_model(SolidRow, r) for r in rows]


async def ensure_database(dsn: str) -> None:
    """Create the database named in ``dsn`` when the server answers but it does not exist."""
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
        await conn.close()
        return
    except asyncpg.InvalidCatalogNameError:
        pass
    except DRIVER_ERRORS as exc:
        raise errors.DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    base, _, rest = dsn.rpartition("/")
    dbname, _, query = rest.partition("?")
    admin = await asyncpg.connect(f"{base}/postgres" + (f"?{query}" if query else ""), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{dbname}"')
    except asyncpg.DuplicateDatabaseError:
        pass
    finally:
        await admin.close()
