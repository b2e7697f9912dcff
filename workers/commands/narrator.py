"""`medium narrator install | status`: the local model and llama.cpp runtime (issue 11)."""

from __future__ import annotations

import atexit
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from synthesis.errors import MediumError
from synthesis.llm import install
from synthesis.llm.catalog import DEFAULT_MODEL, MODELS
from synthesis.llm.factory import parse_model_spec
from synthesis.llm.local import LocalServer
from synthesis.settings import Settings

app = typer.Typer(help="The local narrator: llama.cpp and a small open model, offline.",
                  no_args_is_help=True)
console = Console(stderr=True)


def _progress_bars(bars: Progress) -> install.Progress:
    tasks: dict[str, TaskID] = {}

    def advance(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total)
        bars.update(tasks[stage], completed=done, total=total)

    return install.Progress(note=lambda text: bars.console.print(text, markup=False, highlight=False),
                            bytes=advance)


@app.command("install")
def install_command(
    model: Annotated[str, typer.Option("--model", help=f"One of: {', '.join(MODELS)}.")] = DEFAULT_MODEL,
    path: Annotated[Path | None, typer.Option("--path", help="Use a GGUF you already have instead of "
                                              "downloading one.")] = None,
    runtime: Annotated[bool, typer.Option("--runtime/--no-runtime", help="Also install llama.cpp's "
                                          "server (a dedicated venv).")] = True,
) -> None:
    """Install llama.cpp's OpenAI-compatible server and a verified GGUF into the data dir.

    Idempotent: a second run checks what is there and returns. Then `MEDIUM_LLM=local`."""
    settings = Settings()
    paths = install.Paths(settings.medium_data_dir)
    started = time.monotonic()
    try:
        with Progress(TextColumn("{task.description:>9}"), BarColumn(), TaskProgressColumn(),
                      TimeRemainingColumn(), console=console, transient=False) as bars:
            report = _progress_bars(bars)
            if runtime:
                install.install_runtime(paths, report)
            file = (install.use_path(paths, path, report) if path is not None
                    else install.install_model(paths, install.model_named(model), report))
    except MediumError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"[green]ready[/] in {time.monotonic() - started:.0f} s: {file}")
    console.print("run it with [bold]MEDIUM_LLM=local[/] (or `medium demo --llm local`)")


@app.command("status")
def status_command() -> None:
    """What is installed: the runtime version and each model."""
    paths = install.Paths(Settings().medium_data_dir)
    out = Console()
    out.print(f"runtime: {install.runtime_version(paths) or 'not installed'} ({paths.runtime})")
    for m in MODELS.values():
        file = paths.model_file(m)
        state = "installed" if install.verified(file, m) else "not installed"
        out.print(f"{m.name}: {state} ({file})")
    chosen = install.resolve_model(paths)
    out.print(f"MEDIUM_LLM=local serves: {chosen or 'nothing (run `medium narrator install`)'}")


DEMO_LOCAL_TIME_SCALE = "2"  # windows and NPC idle times twice as long: ~20 s narrations fit


def prepare_demo(llm: str | None) -> dict[str, str]:
    """Environment for `medium demo --llm X` and its children; call before reading Settings.

    For `local`, the llama.cpp server starts here, once, so the API and every worker reuse
    it (one model in memory), and it stops when the demo exits. Time runs at half speed
    (MEDIUM_TIME_SCALE=2 unless set), so windows and NPC actors are paced to a server that
    narrates one window at a time. Not installed: one line says so; scripted runs instead.
    """
    if not llm:
        return {}
    parse_model_spec(llm)
    os.environ["MEDIUM_LLM"] = llm
    env = {"MEDIUM_LLM": llm}
    provider, ref = parse_model_spec(llm)
    if provider != "local":
        return env
    paths = install.Paths(Settings().medium_data_dir)
    path = install.resolve_model(paths, ref or None)
    if path is None or not paths.python.exists():
        console.print("local narrator is not installed: run `medium narrator install` (or `make narrator`); "
                      "the demo runs the scripted narrator instead")
        return env
    console.print(f"starting llama.cpp for {install.model_label(path)} (loopback only) ...")
    server = LocalServer(paths, path)
    server.ensure()
    atexit.register(server.stop)
    if "MEDIUM_TIME_SCALE" not in os.environ:
        os.environ["MEDIUM_TIME_SCALE"] = env["MEDIUM_TIME_SCALE"] = DEMO_LOCAL_TIME_SCALE
    return env
