"""``medium backup [--out DIR]`` and ``medium restore FILE``: wrap pg_dump / pg_restore for the
configured or embedded database, with a progress bar (workers/backup.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from synthesis import store
from synthesis.errors import MediumError
from synthesis.settings import Settings
from synthesis.store_io import FrameIOStore
from workers import backup as pg
from workers import runtime
from workers.commands.common import DatabaseOpt, console, fail, prepare_database, run

PgBinOpt = Annotated[Path | None, typer.Option("--pg-bin", help="Directory holding pg_dump and pg_restore.")]


async def _server(url: str) -> tuple[int, int]:
    pool = await store.create_pool(url, max_size=1)
    try:
        st = FrameIOStore(pool)
        return await st.server_major(), await st.dump_table_count()
    finally:
        await pool.close()


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[item]}"), console=console, transient=False)


def run_backup(url: str, out_dir: Path, *, pg_bin: Path | None = None, show: bool = True) -> Path:
    major, tables = run(_server(url))
    tool = pg.find_tool("pg_dump", major, pg_bin=pg_bin)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"medium-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.dump"
    with _bar() as bar:
        task = bar.add_task("backup", total=tables, item="", visible=show)

        def line(text: str) -> None:
            if pg.is_item(text):
                bar.update(task, advance=1, item=text.split(": ", 1)[1][-60:])

        pg.dump(url, out, tool=tool, on_line=line)
        bar.update(task, completed=tables, item="done")
    return out


def run_restore(url: str, archive: Path, *, pg_bin: Path | None = None, show: bool = True) -> None:
    run(prepare_database(url))  # the roles and schemas the dump's grants name
    major, _ = run(_server(url))
    tool = pg.find_tool("pg_restore", major, pg_bin=pg_bin)
    total = pg.toc_entries(archive, tool=tool)
    with _bar() as bar:
        task = bar.add_task("restore", total=total, item="", visible=show)

        def line(text: str) -> None:
            if pg.is_item(text):
                bar.update(task, advance=1, item=text.split(": ", 1)[1][-60:])

        pg.restore(url, archive, tool=tool, on_line=line)
        bar.update(task, completed=total, item="done")


def backup_command(
    out: Annotated[Path, typer.Option("--out", help="Directory for the backup file.")] = Path(),
    database_url: DatabaseOpt = None,
    pg_bin: PgBinOpt = None,
) -> None:
    """Back up the whole database with pg_dump (custom format) into DIR/medium-<UTC time>.dump."""
    with runtime.database_url(Settings(), database_url) as db:
        try:
            path = run_backup(db.url, out, pg_bin=pg_bin)
        except MediumError as exc:
            fail(exc, 1)
    console.print(f"backup written: {path} ({path.stat().st_size} bytes)")


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `medium backup`.")],
    database_url: DatabaseOpt = None,
    pg_bin: PgBinOpt = None,
) -> None:
    """Restore a backup into the database: what the backup holds replaces what is there."""
    if not file.is_file():
        fail(MediumError(f"{file}: no such file"))
    with runtime.database_url(Settings(), database_url) as db:
        try:
            run_restore(db.url, file, pg_bin=pg_bin)
        except MediumError as exc:
            fail(exc, 1)
    console.print(f"restored {file}")
