"""The database layer: one method per named query, frozen models out. The only asyncpg user.

Driver errors are translated here into ``synthesis.errors`` (STYLE §8). Time is always a
parameter (``now``); the SQL never calls ``now()`` for scheduling decisions.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from synthesis import errors
from synthesis.store_queries import Queries

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

Pool = asyncpg.Pool
DedicatedConnection = asyncpg.Connection  # what ``connect`` returns: listeners, leaders, benchmarks


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


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10,
                      timeout: float = 10.0) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                         init=_init_connection, timeout=timeout,
                                         command_timeout=COMMAND_TIMEOUT)
    except DRIVER_ERRORS as exc:
        raise errors.DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    if pool is None:  # asyncpg returns None only with init failures it raised above
        raise errors.DatabaseUnavailable("cannot connect to the database: no pool")
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


class Store(Queries):
    """Query methods over a pool: one method per named query, frozen models out (the queries
    of play are ``store_queries.Queries``; this class is their plumbing). Pass ``conn`` (a
    ``Tx``) to run inside a caller's transaction."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    # --- plumbing ------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self, *, lock_frame: UUID | None = None,
                          isolation: str = "read_committed", readonly: bool = False) -> AsyncIterator[Tx]:
        """A transaction as the service role. ``lock_frame``: the frame row is locked first,
        the lock order of every writer of a frame. ``readonly`` with ``repeatable_read``: one
        consistent snapshot for a reader (the load test's report)."""
        try:
            async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn, \
                    conn.transaction(isolation=isolation, readonly=readonly):
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


# --- dedicated connections (``connect``) ---------------------------------------------------------


async def _on(conn: asyncpg.Connection, method: str, name: str, *args: Any) -> Any:
    try:
        return await getattr(conn, method)(QUERIES[name], *args)
    except DRIVER_ERRORS as exc:
        raise translate(exc) from exc


async def try_claim_session(conn: asyncpg.Connection, session: int) -> bool:
    """Take the claim-session lock ``session`` on ``conn`` if it is free; held until ``conn``
    closes. While held, the windows claimed in that session are this worker's; once the
    session ends they are anyone's to reclaim (``claim_due_windows``)."""
    return bool(await _on(conn, "fetchval", "try_claim_session", session))


async def try_advisory_lock(conn: asyncpg.Connection, key: int) -> bool:
    """Take the session advisory lock ``key`` if it is free; it is held until ``conn`` closes."""
    return bool(await _on(conn, "fetchval", "try_advisory_lock", key))


async def ping(conn: asyncpg.Connection) -> None:
    """One round trip: raises ``DatabaseUnavailable`` when the connection is gone."""
    await _on(conn, "execute", "connection_ping")


async def set_realtime(conn: asyncpg.Connection, transport: str) -> bool:
    """Set the database's realtime switch (``notify`` or ``supabase``), which every writer's
    events honour; False (nothing written) when the database is not migrated that far."""
    if not await _on(conn, "fetchval", "realtime_setting_present"):
        return False
    await _on(conn, "execute", "set_realtime_setting", transport)
    return True


async def realtime(conn: asyncpg.Connection) -> str:
    """The database's realtime switch: ``notify`` or ``supabase``."""
    return str(await _on(conn, "fetchval", "realtime_setting"))


async def notify(conn: asyncpg.Connection, channel: str, payload: str) -> None:
    """One raw NOTIFY (the fan-out benchmark's driver baseline)."""
    await _on(conn, "execute", "bench_notify", channel, payload)


async def notify_each(conn: asyncpg.Connection, channel: str, indices: list[int]) -> None:
    """One NOTIFY per index, payload the index, in one statement (the timers benchmark's
    driver baseline)."""
    await _on(conn, "execute", "bench_notify_each", channel, indices)


# --- databases -------------------------------------------------------------------------------------


def _split_database(dsn: str) -> tuple[str, str]:
    """(the dsn of the server's ``postgres`` database, the database ``dsn`` names)."""
    base, _, rest = dsn.rpartition("/")
    dbname, _, query = rest.partition("?")
    return f"{base}/postgres" + (f"?{query}" if query else ""), dbname


async def create_database(admin_dsn: str, name: str) -> None:
    """``CREATE DATABASE name`` through a connection to ``admin_dsn``; an error if it exists."""
    admin = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


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
    admin_dsn, dbname = _split_database(dsn)
    with contextlib.suppress(asyncpg.DuplicateDatabaseError):
        await create_database(admin_dsn, dbname)


async def drop_database(dsn: str, *, admin_dsn: str | None = None) -> None:
    """Drop the database named in ``dsn`` (connections to it are terminated), through a
    connection to ``admin_dsn`` (default: the server's ``postgres`` database)."""
    default_admin, dbname = _split_database(dsn)
    try:
        admin = await asyncpg.connect(admin_dsn or default_admin, timeout=10)
    except DRIVER_ERRORS as exc:
        raise errors.DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    finally:
        await admin.close()
