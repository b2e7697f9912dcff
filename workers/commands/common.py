"""What every command shares: the stderr console, the ``--database-url`` option, error exits
and the migrate-on-start step."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from synthesis import migrations, store
from synthesis.errors import MediumError
from synthesis.settings import Settings

console = Console(stderr=True)

DatabaseOpt = Annotated[str | None, typer.Option("--database-url", help="Postgres URL; default: "
                        "DATABASE_URL, else 127.0.0.1:5432, else embedded pgserver.")]


def fail(exc: BaseException, code: int = 2) -> NoReturn:
    """Print ``exc`` as a one-line error and exit with ``code`` (2: bad input)."""
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code)


def refuse_public_dev_secret(settings: Settings, host: str) -> None:
    """Exit 2 before serving on a non-loopback ``host`` with the development JWT secret."""
    reason = settings.dev_secret_on(host)
    if reason:
        console.print(f"[bold red]error:[/] {reason}")
        raise typer.Exit(2)


def run(coro: Any) -> Any:
    """``asyncio.run(coro)``; a domain error becomes a clean exit 2, not a traceback."""
    try:
        return asyncio.run(coro)
    except MediumError as exc:
        fail(exc)


async def prepare_database(url: str, settings: Settings | None = None, *,
                           always_migrate: bool = False) -> list[str]:
    """Create the database if needed and apply pending migrations, unless ``settings`` (a
    serving process's) has ``MEDIUM_AUTO_MIGRATE=false`` (``always_migrate``: ``medium
    migrate``). Then, when ``MEDIUM_REALTIME`` is set, record it as the database's realtime
    switch, which every writer honours (migration ..._broadcast_v2)."""
    await store.ensure_database(url)
    applied: list[str] = []
    if always_migrate or settings is None or settings.medium_auto_migrate:
        applied = await migrations.apply(url)
    else:
        console.print("MEDIUM_AUTO_MIGRATE=false: not migrating (run `medium migrate` or the Supabase CLI)")
    if settings is not None and "medium_realtime" in settings.model_fields_set:
        conn = await store.connect(url, application_name="medium prepare")
        try:
            if not await store.set_realtime(conn, settings.medium_realtime):
                console.print("MEDIUM_REALTIME not recorded: the database is not migrated yet")
        finally:
            await conn.close()
    return applied
