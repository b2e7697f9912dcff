"""The ``medium`` command line (typer): registers the commands of ``workers/commands/``.

Each command module holds one concern and composes synthesis/, api/ and workers/; this module
only names the commands, in the order ``medium --help`` lists them.

``medium api``, ``medium worker`` and ``medium migrate`` (what supervisors and containers start,
often) load only their own module, not every command's: ``main`` builds a one-command app for
them, so a server process does not import the demo, the benchmarks or the evaluation.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

FAST = {"api": ("workers.commands.serve", "api_command"), "worker": ("workers.commands.serve", "worker"),
        "migrate": ("workers.commands.serve", "migrate")}
HELP = "medium: multiplayer roleplay narrated by AI, on Postgres."


def build() -> typer.Typer:
    """Every command, in ``medium --help`` order."""
    from workers.commands import bench, demo, evaluate, loadtest, narrator, scenario, serve

    app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(scenario.scenario_app, name="scenario")
    app.command()(serve.migrate)
    app.command()(demo.demo)
    app.command()(serve.worker)
    app.command()(scenario.directive)
    app.command()(scenario.submit)
    app.command()(serve.up)
    app.add_typer(bench.bench_app, name="bench")
    app.command("api")(serve.api_command)
    app.command()(loadtest.loadtest)
    app.add_typer(narrator.app, name="narrator")
    app.command("eval")(evaluate.eval_command)
    return app


def main(argv: list[str] | None = None) -> None:
    """The console script: a fast path for the server commands, else the whole app."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in FAST:
        module, name = FAST[args[0]]
        one = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        one.command(args[0])(getattr(importlib.import_module(module), name))
        one(args=args[1:], prog_name=f"medium {args[0]}")
        return
    build()(args=args, prog_name="medium")


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole app, built on first use (``from workers.cli import app``)
        return build()
    raise AttributeError(name)
