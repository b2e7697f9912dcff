"""``medium backup`` / ``medium restore`` on the embedded database (issue 16, item 7, must show):
a backup of a database holding a frame restores into a fresh database with the same rows, and
over the original after the frame was deleted, with progress shown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from synthesis import database, store
from tests.integration.api_support import cast_of
from workers import backup as pg
from workers.commands import backup as backup_cmd
from workers.commands.common import prepare_database

LORE = [{"title": "Cell", "text": "LORE-CELL meet at dusk", "visibility": "affiliation:Cell", "always": True}]


def _with_db(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    return f"{head.rpartition('/')[0]}/{name}{sep}{query}"


async def _snapshot(url: str) -> dict[str, Any]:
    pool = await store.create_pool(url, max_size=1)
    try:
        async with pool.acquire() as conn:
            return {
                "frames": [tuple(r) for r in await conn.fetch("SELECT id, name, world FROM frames ORDER BY id")],
                "characters": [tuple(r) for r in await conn.fetch(
                    "SELECT id, name, internal FROM characters ORDER BY id")],
                "lore": [tuple(r) for r in await conn.fetch("SELECT id, body, visibility FROM content ORDER BY id")],
                "users": await conn.fetchval("SELECT count(*) FROM auth.users"),
                "events": await conn.fetchval("SELECT count(*) FROM events"),
                "migrations": await conn.fetchval("SELECT count(*) FROM medium_private.medium_migrations"),
            }
    finally:
        await pool.close()


async def _seed(url: str) -> None:
    await prepare_database(url)
    pool = await store.create_pool(url, max_size=2)
    try:
        await cast_of(store.Store(pool), lore=LORE)
    finally:
        await pool.close()


async def _delete_frames(url: str) -> None:
    pool = await store.create_pool(url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("DELETE FROM frames")
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("pgserver")
    db = database.start_embedded(tmp_path_factory.mktemp("embedded"))
    try:
        yield db
    finally:
        db.stop()


def test_backup_restores_into_a_fresh_database_and_over_the_original(embedded: Any, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    source, target = _with_db(embedded.url, "medium_bk_src"), _with_db(embedded.url, "medium_bk_dst")
    asyncio.run(store.ensure_database(source))
    asyncio.run(_seed(source))
    before = asyncio.run(_snapshot(source))
    assert len(before["frames"]) == 1
    assert before["lore"][0][1] == "LORE-CELL meet at dusk"

    archive = backup_cmd.run_backup(source, tmp_path / "backups")
    assert archive.parent == tmp_path / "backups"
    assert archive.stat().st_size > 0
    err = capsys.readouterr().err
    assert "backup" in err
    assert "done" in err  # the progress bar ran to its end

    asyncio.run(store.ensure_database(target))
    backup_cmd.run_restore(target, archive)
    assert asyncio.run(_snapshot(target)) == before
    assert "restore" in capsys.readouterr().err

    asyncio.run(_delete_frames(source))
    assert asyncio.run(_snapshot(source))["frames"] == []
    backup_cmd.run_restore(source, archive)  # --clean: what the backup holds replaces what is there
    assert asyncio.run(_snapshot(source)) == before


def test_a_file_that_is_not_a_backup_is_refused(embedded: Any, tmp_path: Path) -> None:
    bogus = tmp_path / "x.dump"
    bogus.write_text("not an archive")
    tool = pg.find_tool("pg_restore", 16)
    with pytest.raises(pg.MediumError, match="not a pg_dump archive"):
        pg.toc_entries(bogus, tool=tool)


def test_the_tool_must_be_at_least_the_servers_version(tmp_path: Path) -> None:
    with pytest.raises(pg.MediumError, match="no pg_dump for PostgreSQL 99"):
        pg.find_tool("pg_dump", 99)
    with pytest.raises(pg.MediumError, match="--pg-bin"):
        pg.find_tool("pg_dump", 15, pg_bin=tmp_path)
