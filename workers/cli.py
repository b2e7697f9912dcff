"""The ``medium`` command line (typer): registers the commands of ``workers/commands/``.

Each command module holds one concern and composes synthesis/, api/ and workers/; this module
only names the commands, in the order ``medium --help`` lists them.
"""

from __future__ import annotations

import typer

from workers.commands import backup, bench, demo, evaluate, frame, loadtest, narrator, scenario, serve

app = typer.Typer(help="medium: multiplayer roleplay narrated by AI, on Postgres.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
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
app.add_typer(frame.frame_app, name="frame")
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
