"""``medium loadtest``: simulated players against a real stack (``workers/loadtest``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthesis import scenario
from synthesis.errors import MediumError
from synthesis.settings import Settings
from workers.commands.common import console, fail


def loadtest(
    scenario_file: Annotated[Path, typer.Option("--scenario", help="Scenario YAML (default: the "
                             "packaged Mos Eisley).")] = scenario.MOS_EISLEY,
    frames: Annotated[int, typer.Option(min=1, help="Install the scenario this many times.")] = 1,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of real time that players act.")] = 60.0,
    time_scale: Annotated[float, typer.Option(min=0.001, help="MEDIUM_TIME_SCALE for the stack.")] = 0.05,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 2,
    llm: Annotated[str, typer.Option(help="scripted, or <provider:model>.")] = "scripted",
    llm_latency: Annotated[str, typer.Option(help="Scripted narrator latency: none, fixed:50ms, "
                           "uniform:100ms-300ms, lognormal:800ms.")] = "none",
    kill_worker_every: Annotated[float, typer.Option(min=0, help="SIGKILL a random worker every S "
                                 "seconds (0: never).")] = 0.0,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the PNG plot here.")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="Postgres URL; default: "
                            "DATABASE_URL, else an embedded pgserver.")] = None,
    api: Annotated[str | None, typer.Option(help="Use this running API instead of starting one "
                   "(needs --database-url of the same database).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for players and the scripted narrator.")] = 0,
    worker_concurrency: Annotated[int, typer.Option(min=1, help="Syntheses in flight per worker.")] = 16,
    lease: Annotated[float, typer.Option(min=1, help="Worker lease seconds.")] = 10.0,
    drop_client_every: Annotated[float, typer.Option(min=0, help="Drop a random player's WebSocket "
                                 "every S seconds (it reconnects with since; 0: never).")] = 0.0,
    pacing: Annotated[str, typer.Option(help="scaled: --time-scale with lognormal think times; realtime: "
                                        "time scale 1.0, each player acting every 20-40 s, as people do.")]
    = "scaled",
) -> None:
    """Simulate players against a real stack; report latency and the DESIGN §5 invariants
    (exit 1 on any FAIL)."""
    from synthesis.llm.scripted import Latency
    from workers.loadtest.run import Config, main

    try:
        scenario.load_scenario_file(scenario_file)
        Latency.parse(llm_latency)
    except MediumError as exc:
        fail(exc)
    if pacing not in ("scaled", "realtime"):
        fail(MediumError(f"--pacing must be scaled or realtime, not {pacing!r}", field="pacing"))
    if pacing == "realtime":
        time_scale = 1.0
    if api and not (database_url or Settings().database_url):
        fail(MediumError("--api needs --database-url (or DATABASE_URL): the database that API serves"))
    cfg = Config(scenario=scenario_file, frames=frames, duration=duration, time_scale=time_scale,
                 workers=workers, llm=llm, llm_latency=llm_latency, kill_worker_every=kill_worker_every,
                 report=report, plot=plot, database_url=database_url, api=api, seed=seed,
                 worker_concurrency=worker_concurrency, lease=lease, drop_client_every=drop_client_every,
                 pacing=pacing)
    raise typer.Exit(main(cfg, console))
