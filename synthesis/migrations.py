"""The migration runner: applies ``supabase/migrations/<YYYYMMDDHHMMSS>_<name>.sql`` in order.

The files are read from the package (``synthesis/_migrations/``, copied there when a wheel is
built) or, in a source tree or an editable install, from the checkout's ``supabase/migrations/``
(see ``synthesis.installed``); ``MIGRATIONS_DIR`` is the one in use.

Idempotent: applied files are recorded with a SHA-256 checksum in
``medium_private.medium_migrations`` (a schema Supabase's Data API does not expose; runners
before issue 13 kept it in ``public``, and the first run of this one moves it). A file whose
name does not match the pattern, or whose content changed after it was applied, is refused with
an error naming the file. Each file applies in its own transaction, under an advisory lock so
concurrent runners (several processes starting at once) do not race.

One history with the Supabase CLI: when ``supabase_migrations.schema_migrations`` exists (a
project where ``supabase db push`` or ``supabase migration repair`` has run), a file whose
version (its 14-digit prefix) is recorded there counts as applied and is adopted into medium's
history, and every file medium applies is recorded there in the same transaction, as the CLI
records it (version, name, statements), so ``supabase migration list`` shows it applied and
``supabase db push`` does not run it again. Files medium applied before the CLI's table
existed are added to it on the next run. A file another one stood in for (below) is recorded
there too, with no statements, so the CLI never runs it.

A landed file is never edited. When one cannot apply somewhere it must (the first shim's
``CREATE TABLE IF NOT EXISTS auth.users`` on Supabase), a later file names it in a
``-- replaces: <file>`` line: on a database that has not applied the old file, the new one
applies in its place (its position in the order) and the old one never runs there; on a
database that has, the new one applies in its own turn, so it must be idempotent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from synthesis import installed, store, store_history
from synthesis.errors import MigrationError

MIGRATIONS_DIR = installed.data_dir("synthesis", "_migrations", "supabase/migrations")
NAME_PATTERN = re.compile(r"^\d{14}_[a-z0-9_]+\.sql$")
REPLACES = re.compile(r"^--\s*replaces:\s*(\S+)\s*$", re.MULTILINE)
LOCK_KEY = 0x6D656469756D  # "medium"


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path
    checksum: str
    replaces: str | None = None  # an earlier file this one stands in for where that one is pending

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def version(self) -> str:
        """The 14-digit prefix: the Supabase CLI's version of this file."""
        return self.name[:14]

    def cli_row(self, *, ran: bool = True) -> store_history.CliRow:
        """This file as the Supabase CLI records it (``ran=False``: stood in for, nothing run)."""
        return store_history.CliRow(self.version, self.name[15:-4], self.sql if ran else None)


def _header(sql: str) -> str:
    """The leading comment lines of a file (where ``-- replaces:`` may stand)."""
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line)
    return "\n".join(lines)


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    if not directory.is_dir():
        raise MigrationError(f"migrations directory not found: {directory}")
    found = []
    for path in sorted(directory.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        if not NAME_PATTERN.match(path.name):
            raise MigrationError(
                f"{path.name}: migration file names must look like YYYYMMDDHHMMSS_name.sql",
                field=path.name)
        replaces = REPLACES.findall(_header(path.read_text()))
        if len(replaces) > 1:
            raise MigrationError(f"{path.name}: names more than one file to replace", field=path.name)
        found.append(Migration(path.name, path, hashlib.sha256(path.read_bytes()).hexdigest(),
                               replaces[0] if replaces else None))
    names = [m.name for m in found]
    for m in found:
        if m.replaces is not None and (m.replaces not in names
                                       or names.index(m.replaces) >= names.index(m.name)):
            raise MigrationError(f"{m.name}: replaces {m.replaces}, which is not an earlier file here",
                                 field=m.name)
    if len({m.replaces for m in found if m.replaces}) != sum(1 for m in found if m.replaces):
        raise MigrationError("two files replace the same migration")
    versions = [m.version for m in found]
    for m in found:
        if versions.count(m.version) > 1:  # the CLI's history is keyed by version
            raise MigrationError(f"{m.name}: another file has the version {m.version}", field=m.name)
    return found


def plan(migrations: list[Migration], done: dict[str, str]) -> list[Migration]:
    """The files to apply, in order, on a database that has applied ``done`` ({name: checksum}):
    each pending file in name order, except that a file another one replaces is taken by its
    replacement at its own position (or skipped, when the replacement is applied already).
    An applied file whose checksum changed is refused."""
    by_replaced = {m.replaces: m for m in migrations if m.replaces}
    taken: set[str] = set(done)
    todo: list[Migration] = []
    for m in migrations:
        if m.name in done:
            if done[m.name] != m.checksum:
                raise MigrationError(
                    f"{m.name}: was edited after it was applied (checksum differs); "
                    "add a new migration instead", field=m.name)
            continue
        stand_in = by_replaced.get(m.name)
        chosen = stand_in if stand_in is not None else m
        if chosen.name in taken:
            continue
        taken.add(chosen.name)
        todo.append(chosen)
    return todo


def cli_rows(migrations: list[Migration], applied: set[str]) -> list[store_history.CliRow]:
    """The CLI history rows for the ``applied`` files: each one, and the file it stood in for."""
    by_name = {m.name: m for m in migrations}
    rows = [m.cli_row() for m in migrations if m.name in applied]
    rows += [by_name[m.replaces].cli_row(ran=False) for m in migrations
             if m.name in applied and m.replaces and m.replaces not in applied]
    return rows


async def apply(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = discover(directory)
    conn = await store.connect(dsn)
    applied_now: list[str] = []
    try:
        await store_history.lock(conn, LOCK_KEY)
        await store_history.prepare(conn)
        done = await store_history.applied(conn)
        cli = await store_history.cli_present(conn)
        if cli:
            versions = await store_history.cli_versions(conn)
            adopted = {m.name: m.checksum for m in migrations
                       if m.version in versions and m.name not in done}
            await store_history.adopt(conn, adopted)
            done |= adopted
            await store_history.cli_record(conn, [r for r in cli_rows(migrations, set(done))
                                                  if r.version not in versions])
        for m in plan(migrations, done):
            try:
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await store_history.record(conn, m.name, m.checksum)
                    if cli:
                        await store_history.cli_record(conn, cli_rows(migrations, {m.name}))
            except Exception as exc:
                raise MigrationError(f"{m.name}: failed to apply: {exc}", field=m.name) from exc
            applied_now.append(m.name)
    finally:
        try:
            await store_history.unlock(conn, LOCK_KEY)
        finally:
            await conn.close()
    return applied_now
