"""The database layer: one method per named query, frozen models out. The only asyncpg user.

Driver errors are translated here into ``synthesis.errors`` (STYLE §8). Time is always a
parameter (``now``); the SQL never calls ``now()`` for scheduling decisions.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from synthesis import errors, route
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


class Tx:
    """One transaction on one pooled connection, and the role it runs as.

    A transaction starts as the connecting (service) role. ``as_user(uid)`` runs the statements
    inside it as ``authenticated`` with Supabase-style JWT claims, so RLS applies exactly as it
    would to a PostgREST request from that user; ``as_service()`` steps back to the service
    role inside an ``as_user`` block (the claims stay set, so ``auth.uid()`` still names the
    caller) for the trusted writes that follow an RLS-checked one."""

    def __init__(self, conn: asyncpg.Connection):
        self.conn = conn
        self.user_id: UUID | None = None

    async def _set_role(self, role: str) -> None:
        await self.conn.execute(QUERIES["set_role"], role)

    @asynccontextmanager
    async def as_user(self, user_id: UUID, *, claims: dict[str, Any] | None = None
                      ) -> AsyncIterator[Tx]:
        payload = {"sub": str(user_id), "role": "authenticated", **(claims or {})}
        previous = self.user_id
        try:
            await self.conn.execute(QUERIES["set_claims"], json.dumps(payload))
            await self._set_role("authenticated")
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
        self.user_id = user_id
        try:
            yield self
        finally:
            self.user_id = previous
        try:
            await self._set_role("authenticated" if previous is not None else "none")
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    @asynccontextmanager
    async def as_service(self) -> AsyncIterator[Tx]:
        user = self.user_id
        try:
            if user is not None:
                await self._set_role("none")
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
        self.user_id = None
        try:
            yield self
        finally:
            self.user_id = user
        try:
            if user is not None:
                await self._set_role("authenticated")
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc


Connection = Tx  # what methods taking ``conn`` accept: a transaction from ``Store.transaction``


class Store:
    """Query methods over a pool: one method per named query, frozen models out. Pass ``conn``
    (a ``Tx``) to run inside a caller's transaction."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    # --- plumbing ------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self, *, lock_frame: UUID | None = None,
                          isolation: str = "read_committed") -> AsyncIterator[Tx]:
        """A transaction as the service role. ``lock_frame``: the frame row is locked first,
        the lock order of every writer of a frame."""
        try:
            async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn, \
                    conn.transaction(isolation=isolation):
                tx = Tx(conn)
                if lock_frame is not None:
                    await conn.fetchrow(QUERIES["lock_frame"], lock_frame)
                yield tx
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    @asynccontextmanager
    async def as_user(self, user_id: UUID, *, claims: dict[str, Any] | None = None,
                      lock_frame: UUID | None = None) -> AsyncIterator[Tx]:
        """A transaction run as ``user_id`` (``Tx.as_user``) from its first statement."""
        async with self.transaction(lock_frame=lock_frame) as tx, tx.as_user(user_id, claims=claims):
            yield tx

    def session(self, user_id: UUID | None, *, lock_frame: UUID | None = None
                ) -> AbstractAsyncContextManager[Tx]:
        """``as_user`` when there is a user, else a service transaction."""
        if user_id is None:
            return self.transaction(lock_frame=lock_frame)
        return self.as_user(user_id, lock_frame=lock_frame)

    async def _run(self, method: str, name: str, args: Sequence[Any], conn: Tx | None) -> Any:
        sql = QUERIES[name]
        try:
            if conn is not None:
                return await getattr(conn.conn, method)(sql, *args)
            async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as c:
                return await getattr(c, method)(sql, *args)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    async def _fetch(self, name: str, *args: Any, conn: Tx | None = None) -> list[asyncpg.Record]:
        return await self._run("fetch", name, args, conn)  # type: ignore[no-any-return]

    async def _fetchrow(self, name: str, *args: Any, conn: Tx | None = None) -> asyncpg.Record | None:
        return await self._run("fetchrow", name, args, conn)

    async def _fetchval(self, name: str, *args: Any, conn: Tx | None = None) -> Any:
        return await self._run("fetchval", name, args, conn)

    async def lock_frame(self, conn: Tx, frame_id: UUID) -> bool:
        """Lock the frame row (the first lock of every writer); False when there is no frame."""
        return await self._fetchrow("lock_frame", frame_id, conn=conn) is not None

    # --- frames & cast -------------------------------------------------------------------------

    async def insert_user(self, conn: Tx, user_id: UUID, email: str, meta: dict[str, Any]) -> UUID:
        return await self._fetchval("insert_user", user_id, email, meta, conn=conn)  # type: ignore[no-any-return]

    async def insert_frame(self, conn: Tx, *, name: str, mode: str, world: str, scenario: str,
                           pscale_windows: dict[str, float], perceive: bool, actor_budget_per_hour: int,
                           actors_always: bool, created_by: UUID | None) -> Frame:
        row = await self._fetchrow("insert_frame", name, mode, world, scenario, pscale_windows, perceive,
                                   actor_budget_per_hour, actors_always, created_by, conn=conn)
        return _model(Frame, row)

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
        """The new row; None when ``client_key`` was already used for this character."""
        row = await self._fetchrow(
            "insert_liquid", frame_id, character_id, user_id, content, refined_text, pscale,
            timer_duration, interruptive, interrupt_targets, soft_source, soft_note, now, client_key,
            conn=conn)
        return _model(LiquidEntry, row) if row else None

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
            plan = route.commit_plan(doc, now)
            row = await self._fetchval("commit_apply", frame_id, liquid_id, plan, conn=conn)
        return LiquidEntry.model_validate(row)

    async def find_liquid(self, liquid_id: UUID, *, conn: Tx | None = None
                          ) -> LiquidEntry | None:
        row = await self._fetchrow("find_liquid", liquid_id, conn=conn)
        return _model(LiquidEntry, row) if row else None

    # --- windows (workers) ---------------------------------------------------------------------

    async def claim_due_windows(self, now: datetime, *, limit: int, worker_id: str,
                                lease_seconds: float) -> list[Window]:
        rows = await self._fetch("claim_due_windows", now, limit, worker_id, lease_seconds)
        return [_model(Window, r) for r in rows]

    async def next_due(self) -> datetime | None:
        return await self._fetchval("next_due")  # type: ignore[no-any-return]

    async def heartbeat(self, window_ids: list[UUID], now: datetime, lease_seconds: float,
                        worker_id: str) -> list[UUID]:
        rows = await self._fetch("heartbeat", window_ids, now, lease_seconds, worker_id)
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
            await self.emit(conn, frame_id, [("timer", window.id, await self._audience(
                conn, frame_id, window.character_id))])
            return window

    async def _audience(self, conn: Tx, frame_id: UUID, character_id: UUID
                        ) -> list[UUID]:
        ch = await self.get_character(frame_id, character_id, conn=conn)
        return [ch.user_id] if ch and ch.user_id else []

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
            return plan

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
        rows = await self._fetch("list_solid", frame_id, since, limit, conn=conn)
        return [_model(SolidRow, r) for r in rows]

    async def character_solid(self, frame_id: UUID, character_id: UUID) -> list[SolidRow]:
        rows = await self._fetch("character_solid", frame_id, character_id)
        return [_model(SolidRow, r) for r in rows]

    async def runtime_models(self) -> list[dict[str, Any]]:
        """The `models` rows the LLM registry resolves at runtime (keys still encrypted)."""
        return [dict(r) for r in await self._fetch("runtime_models")]


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
