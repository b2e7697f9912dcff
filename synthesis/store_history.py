"""The migration runner's reads and writes (``synthesis/sql/migrations.sql``), one function per
named query, on the runner's dedicated connection (``store.connect``): medium's own history
(``medium_private.medium_migrations``) and, where a Supabase CLI project has one, the CLI's
(``supabase_migrations.schema_migrations``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from synthesis.store import DedicatedConnection, _on


@dataclass(frozen=True)
class CliRow:
    """One row of the CLI's history: ``version`` (a file's 14-digit prefix), ``name`` (the rest
    of its name, without ``.sql``) and ``statement`` (the file's text; None: nothing ran)."""

    version: str
    name: str
    statement: str | None


async def lock(conn: DedicatedConnection, key: int) -> None:
    """Take the runners' session advisory lock (concurrent runners wait here)."""
    await _on(conn, "execute", "migrations_lock", key)


async def unlock(conn: DedicatedConnection, key: int) -> None:
    await _on(conn, "execute", "migrations_unlock", key)


async def prepare(conn: DedicatedConnection) -> None:
    """Create medium's history table in ``medium_private``, moving an existing install's from
    ``public``."""
    await _on(conn, "execute", "migrations_prepare_history")


async def applied(conn: DedicatedConnection) -> dict[str, str]:
    """{file name: checksum} of what medium's history records."""
    return {r["name"]: r["checksum"] for r in await _on(conn, "fetch", "migrations_applied")}


async def record(conn: DedicatedConnection, name: str, checksum: str) -> None:
    await _on(conn, "execute", "migrations_record", name, checksum)


async def adopt(conn: DedicatedConnection, files: dict[str, str]) -> None:
    """Record ``files`` ({name: checksum}) as applied (the CLI applied them)."""
    if files:
        await _on(conn, "execute", "migrations_adopt", list(files), list(files.values()))


async def cli_present(conn: DedicatedConnection) -> bool:
    """Whether the database has the Supabase CLI's history table."""
    return bool(await _on(conn, "fetchval", "migrations_cli_present"))


async def cli_versions(conn: DedicatedConnection) -> set[str]:
    return {r["version"] for r in await _on(conn, "fetch", "migrations_cli_versions")}


async def cli_record(conn: DedicatedConnection, rows: Sequence[CliRow]) -> None:
    """Add ``rows`` to the CLI's history; versions it has already are left as they are."""
    if rows:
        await _on(conn, "execute", "migrations_cli_record", [r.version for r in rows],
                  [r.name for r in rows], [r.statement for r in rows])

