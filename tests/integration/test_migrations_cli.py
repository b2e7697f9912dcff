"""One migration history with the Supabase CLI (issue 13, item 5): ``supabase db push`` first,
then ``medium migrate``; ``medium migrate`` first, then what the CLI sees. The CLI is simulated
with the statements it runs (supabase/cli pkg/migration/history.go and file.go: the history
table, one transaction per file that runs it and inserts (version, name, statements); ``migration
repair --status applied`` inserts the row alone)."""

from __future__ import annotations

import shutil
from pathlib import Path

from synthesis import migrations, store
from synthesis.settings import Settings
from workers.commands.common import prepare_database

OLD_SHIM = "20261121000000_supabase_shim.sql"
CLI_TABLE = """
SET lock_timeout = '4s';
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text;
"""
INSERT = "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3)"


def local_files(directory: Path = migrations.MIGRATIONS_DIR) -> list[Path]:
    return sorted(directory.glob("*.sql"))


def split(path: Path) -> tuple[str, str]:
    version, _, rest = path.name.partition("_")
    return version, rest.removesuffix(".sql")


async def cli_versions(url: str) -> set[str]:
    conn = await store.connect(url)
    try:
        return {r["version"] for r in await conn.fetch("SELECT version FROM supabase_migrations.schema_migrations")}
    finally:
        await conn.close()


async def medium_history(url: str) -> set[str]:
    conn = await store.connect(url)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.medium_migrations')") is None
        return {r["name"] for r in await conn.fetch("SELECT name FROM medium_private.medium_migrations")}
    finally:
        await conn.close()


async def supabase_repair_applied(url: str, *names: str) -> None:
    """``supabase migration repair --status applied <version>``."""
    conn = await store.connect(url)
    try:
        await conn.execute(CLI_TABLE)
        for name in names:
            path = migrations.MIGRATIONS_DIR / name
            await conn.execute(INSERT, *split(path), [path.read_text()])
    finally:
        await conn.close()


async def supabase_db_push(url: str, directory: Path = migrations.MIGRATIONS_DIR) -> list[str]:
    """``supabase db push``: every local file whose version is not in the history, in order."""
    conn = await store.connect(url)
    pushed = []
    try:
        await conn.execute(CLI_TABLE)
        done = {r["version"] for r in await conn.fetch("SELECT version FROM supabase_migrations.schema_migrations")}
        for path in local_files(directory):
            version, name = split(path)
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute(INSERT, version, name, [path.read_text()])
            pushed.append(path.name)
    finally:
        await conn.close()
    return pushed


async def test_db_push_first_then_medium_migrate_applies_nothing(supabase_empty_url: str) -> None:
    """On Supabase the old shim cannot run (42501), so the CLI user marks it applied first
    (docs/SUPABASE.md); the replacement shim then runs in its own turn, idempotently."""
    await supabase_repair_applied(supabase_empty_url, OLD_SHIM)
    pushed = await supabase_db_push(supabase_empty_url)
    assert OLD_SHIM not in pushed
    assert len(pushed) == len(local_files()) - 1
    assert await migrations.apply(supabase_empty_url) == []
    assert await medium_history(supabase_empty_url) == {p.name for p in local_files()}
    assert await migrations.apply(supabase_empty_url) == []


async def test_a_partial_push_is_finished_by_medium_and_recorded_for_the_cli(
        supabase_empty_url: str, tmp_path: Path) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    files = local_files()
    half = files[: len(files) // 2]
    for p in half:
        shutil.copy(p, d / p.name)
    await supabase_repair_applied(supabase_empty_url, OLD_SHIM)
    await supabase_db_push(supabase_empty_url, d)
    applied = await migrations.apply(supabase_empty_url)
    assert applied == [p.name for p in files[len(half):]]
    assert await cli_versions(supabase_empty_url) == {split(p)[0] for p in files}
    assert await supabase_db_push(supabase_empty_url) == []
    conn = await store.connect(supabase_empty_url)
    try:
        row = await conn.fetchrow("SELECT name, statements FROM supabase_migrations.schema_migrations "
                                  "WHERE version = $1", split(files[-1])[0])
    finally:
        await conn.close()
    assert row["name"] == split(files[-1])[1]
    assert row["statements"] == [files[-1].read_text()]


async def test_medium_migrate_first_then_the_cli_sees_every_file_applied(supabase_empty_url: str) -> None:
    """The CLI's table exists (a linked project) before medium migrates: every file medium
    applies is recorded there, and the old shim, which v2 stood in for, with no statements."""
    conn = await store.connect(supabase_empty_url)
    try:
        await conn.execute(CLI_TABLE)
    finally:
        await conn.close()
    applied = await migrations.apply(supabase_empty_url)
    assert OLD_SHIM not in applied
    assert await cli_versions(supabase_empty_url) == {split(p)[0] for p in local_files()}
    assert await supabase_db_push(supabase_empty_url) == []  # `supabase migration list`: all applied
    conn = await store.connect(supabase_empty_url)
    try:
        assert await conn.fetchval("SELECT statements FROM supabase_migrations.schema_migrations "
                                   "WHERE version = $1", OLD_SHIM[:14]) == []
    finally:
        await conn.close()


async def test_files_migrated_before_the_cli_table_existed_are_added_on_the_next_run(
        supabase_empty_url: str) -> None:
    await migrations.apply(supabase_empty_url)
    conn = await store.connect(supabase_empty_url)
    try:
        await conn.execute(CLI_TABLE)
    finally:
        await conn.close()
    assert await cli_versions(supabase_empty_url) == set()
    assert await migrations.apply(supabase_empty_url) == []
    assert await cli_versions(supabase_empty_url) == {split(p)[0] for p in local_files()}
    assert await supabase_db_push(supabase_empty_url) == []


async def test_an_existing_install_moves_its_history_out_of_public(empty_db_url: str) -> None:
    first = await migrations.apply(empty_db_url)
    conn = await store.connect(empty_db_url)
    try:  # how a runner before issue 13 left it
        await conn.execute("ALTER TABLE medium_private.medium_migrations SET SCHEMA public")
    finally:
        await conn.close()
    assert await migrations.apply(empty_db_url) == []
    assert await medium_history(empty_db_url) == set(first)


async def test_auto_migrate_false_leaves_the_database_alone(empty_db_url: str) -> None:
    off = Settings.model_validate({"MEDIUM_AUTO_MIGRATE": "false"})
    assert await prepare_database(empty_db_url, off) == []
    conn = await store.connect(empty_db_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('medium_private.medium_migrations')") is None
        assert await conn.fetchval("SELECT to_regclass('public.frames')") is None
    finally:
        await conn.close()
    assert await prepare_database(empty_db_url, Settings()) != []


async def test_a_worker_started_with_auto_migrate_false_does_not_migrate(empty_db_url: str) -> None:
    """The serving commands pass their settings to the start-up step: `medium worker` with
    MEDIUM_AUTO_MIGRATE=false leaves an empty database empty (its first claim pass then fails,
    which shows start-up is over; it is stopped there); with the default it migrates first."""
    import asyncio
    import os
    import signal
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIUM_")}
    argv = [sys.executable, "-m", "workers", "worker", "--burst", "--no-actors", "--database-url", empty_db_url]

    async def migrated() -> bool:
        conn = await store.connect(empty_db_url)
        try:
            return bool(await conn.fetchval("SELECT to_regclass('medium_private.medium_migrations') IS NOT NULL"))
        finally:
            await conn.close()

    proc = await asyncio.create_subprocess_exec(*argv, env={**env, "MEDIUM_AUTO_MIGRATE": "false"},
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    try:
        async for line in proc.stderr:
            if b'"claim_failed"' in line:
                break
        else:
            raise AssertionError("the worker exited before its first claim pass")
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    assert not await migrated()
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    assert await proc.wait() == 0
    assert await migrated()
