"""The migration runner: applies ``supabase/migrations/<YYYYMMDDHHMMSS>_<name>.sql`` in order.

The files are read from the package (``synthesis/_migrations/``, copied there when a wheel is
built) or, in a source tree or an editable install, from the checkout's ``supabase/migrations/``
(see ``synthesis.installed``); ``MIGRATIONS_DIR`` is the one in use.

Idempotent: applied files are recorded with a SHA-256 checksum in ``public.medium_migrations``.
A file whose name does not match the pattern, or whose content changed after it was applied,
is refused with an error naming the file. Each file applies in its own transaction, under an
advisory lock so concurrent runners (several processes starting at once) do not race.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from synthesis import installed, store
from synthesis.errors import MigrationError

MIGRATIONS_DIR = installed.data_dir("synthesis", "_migrations", "supabase/migrations")
NAME_PATTERN = re.compile(r"^\d{14}_[a-z0-9_]+\.sql$")
LOCK_KEY = 0x6D656469756D  # "medium"


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path
    checksum: str

    @property
    def sql(self) -> str:
        return self.path.read_text()


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
        found.append(Migration(path.name, path, hashlib.sha256(path.read_bytes()).hexdigest()))
    return found


async def apply(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = discover(directory)
    conn = await store.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS public.medium_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())")
        done = {r["name"]: r["checksum"] for r in
                await conn.fetch("SELECT name, checksum FROM public.medium_migrations")}
        for m in migrations:
            if m.name in done:
                if done[m.name] != m.checksum:
                    raise MigrationError(
                        f"{m.name}: was edited after it was applied (checksum differs); "
                        "add a new migration instead", field=m.name)
                continue
            try:
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO public.medium_migrations (name, checksum) VALUES ($1, $2)",
                        m.name, m.checksum)
            except Exception as exc:
                raise MigrationError(f"{m.name}: failed to apply: {exc}", field=m.name) from exc
            applied_now.append(m.name)
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        finally:
            await conn.close()
    return applied_now
