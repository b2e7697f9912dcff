"""``medium demo``: the one-command experience on an embedded Postgres (DESIGN §10)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from synthesis import scenario, store
from synthesis.errors import MediumError
from synthesis.settings import Settings
from workers import runtime
from workers.commands.common import console, prepare_database, run
from workers.commands.scenario import load_scenario, player_link, with_tokens, without_tokens


def _free_port(preferred: int) -> int:
    import socket

    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return int(s.getsockname()[1])
            except OSError:
                continue
    raise MediumError("no free TCP port")


async def _demo_frame(url: str, settings: Settings, state_path: Path) -> dict[str, Any]:
    """The Mos Eisley frame of this data dir: reused across runs, created on the first."""
    await prepare_database(url)
    if state_path.exists():  # noqa: ASYNC240  a few bytes at start-up, before anything else runs
        state = json.loads(state_path.read_text())  # noqa: ASYNC240
        pool = await store.create_pool(url, max_size=2)
        try:
            exists = await store.Store(pool).get_frame(uuid.UUID(state["frame_id"]))
        finally:
            await pool.close()
        if exists:
            return with_tokens(state, settings)
    doc = await load_scenario(url, scenario.MOS_EISLEY, settings)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(without_tokens(doc)))  # noqa: ASYNC240  tokens are minted per run
    return doc


def demo(
    reset: Annotated[bool, typer.Option("--reset", help="Start from a fresh database.")] = False,
    port: Annotated[int, typer.Option(help="API port (another is picked if busy).")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 2,
    llm: Annotated[str | None, typer.Option("--llm", help="local, scripted or provider:model "
                                            "(default: MEDIUM_LLM).")] = None,
) -> None:
    """The one-command experience: embedded Postgres, migrations, Mos Eisley, the API and two
    supervised workers with NPC actors. Prints a link per player and the GM link."""
    import shutil

    from synthesis.llm.registry import Registry
    from workers.commands import narrator
    from workers.supervisor import Child, Supervisor, medium_argv

    llm_env = narrator.prepare_demo(llm)  # before Settings(): it may set MEDIUM_LLM
    settings = Settings()
    runtime.setup_logging("WARNING")
    data = settings.medium_data_dir
    state_path = data / "demo.json"
    if reset:
        state_path.unlink(missing_ok=True)
        if not settings.database_url:
            shutil.rmtree(data / "pg", ignore_errors=True)
    console.print(f"[dim]data dir {data}[/]")
    with runtime.database_url(settings, embedded_only=True) as db:
        doc = run(_demo_frame(db.url, settings, state_path))
        port = _free_port(port)
        base = f"http://127.0.0.1:{port}"
        children = [Child("api", medium_argv("api", "--host", "127.0.0.1", "--port", str(port),
                                             "--database-url", db.url))]
        children += [Child(f"worker-{i + 1}", medium_argv("worker", "--database-url", db.url,
                                                          "--id", f"demo-worker-{i + 1}"))
                     for i in range(workers)]
        out = Console()
        out.rule(f"[bold]medium demo[/] — {doc.get('name', 'Mos Eisley Cantina')}")
        out.print(f"narrator: [bold]{Registry(settings).label}[/]   database: {db.source}   "
                  f"time scale: {settings.medium_time_scale}")
        for c in doc["characters"]:
            if c["token"]:
                out.print(f"  [green]{c['name']:<14}[/] {player_link(base, doc['frame_id'], c['token'])}",
                          soft_wrap=True)
        npcs = ", ".join(c["name"] for c in doc["characters"] if not c["token"])
        out.print(f"  [dim]NPCs (AI actors): {npcs}[/]")
        out.print(f"  [bold]GM[/]             {player_link(base, doc['frame_id'], doc['gm']['token'], gm=True)}",
                  soft_wrap=True)
        out.print("Open a player link per browser window. Ctrl-C stops everything; data persists "
                  "(--reset starts fresh).")
        quiet = {"MEDIUM_LOG_LEVEL": os.environ.get("MEDIUM_LOG_LEVEL", "WARNING"), **llm_env}
        code = asyncio.run(Supervisor(children, env=quiet).run())
    raise typer.Exit(code)
