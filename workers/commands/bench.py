"""``medium bench``: side-by-side benchmarks. ``benchmarks`` is imported only inside each
command function, so no product module depends on it at import time."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

from synthesis.settings import Settings
from workers import runtime
from workers.commands.common import DatabaseOpt, console, run

bench_app = typer.Typer(help="Side-by-side benchmarks (results go in benchmarks/RESULTS.md).",
                        no_args_is_help=True)


@contextmanager
def _bench_dsn(settings: Settings, database_url: str | None) -> Iterator[str]:
    """Benchmarks create (and drop) their own databases on the resolved server, so they get
    a URL to its admin database ``postgres`` when the server is the local one."""
    with runtime.database_url(settings, database_url) as db:
        yield db.url if db.source != "local" else db.url.rsplit("/", 1)[0] + "/postgres"


@bench_app.command("timers")
def bench_timers(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    database_url: DatabaseOpt = None,
    engines: Annotated[str | None, typer.Option(
        help="Comma-separated subset, e.g. medium,medium-stock,pgqueuer")] = None,
    spread_n: Annotated[int, typer.Option(min=1)] = 1000,
    spread_seconds: Annotated[float, typer.Option(min=0.1)] = 10.0,
    burst_n: Annotated[int, typer.Option(min=1)] = 5000,
) -> None:
    """Timer lateness: medium's workers vs pgqueuer, procrastinate, APScheduler, asyncio, NOTIFY."""
    from benchmarks import timers

    settings = Settings()
    with _bench_dsn(settings, database_url) as url:
        doc = run(timers.run(url, engines=engines.split(",") if engines else None,
                             spread_n=spread_n, spread_s=spread_seconds, burst_n=burst_n,
                             progress=lambda m: console.print(m)))
    if as_json:
        sys.stdout.write(json.dumps(doc) + "\n")
    else:
        _print_timer_table(doc)


@bench_app.command("throughput")
def bench_throughput(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    database_url: DatabaseOpt = None,
    windows: Annotated[int, typer.Option(min=10)] = 1000,
    narrator: Annotated[str, typer.Option(
        help="Comma-separated narrators: canned (a precomputed reply: only the product's own "
             "cost) and/or scripted.")] = "canned,scripted",
    processes: Annotated[str, typer.Option(help="Comma-separated worker process counts.")] = "1,2,4",
    stage_windows: Annotated[int, typer.Option(min=10, help="Syntheses in the serial per-stage CPU run.")] = 300,
) -> None:
    """Syntheses per second at 1, 2 and 4 worker processes per narrator, CPU per synthesis by
    stage, database round trips per synthesis, and the single-row INSERT baseline beside them."""
    from benchmarks import throughput

    names = tuple(x.strip() for x in narrator.split(",") if x.strip())
    bad = [x for x in names if x not in throughput.NARRATORS]
    if bad or not names:
        raise typer.BadParameter(f"unknown narrator {', '.join(bad) or '(none)'}; use "
                                 f"{' or '.join(throughput.NARRATORS)}", param_hint="--narrator")
    counts = _counts(processes, "--processes")
    settings = Settings()
    with _bench_dsn(settings, database_url) as url:
        doc = run(throughput.run(url, n=windows, narrators=names, worker_counts=counts,
                                 stage_windows=stage_windows, progress=lambda m: console.print(m)))
    sys.stdout.write(json.dumps(doc, indent=None if as_json else 2) + "\n")


@bench_app.command("fanout")
def bench_fanout(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    database_url: DatabaseOpt = None,
    clients: Annotated[str, typer.Option(help="Comma-separated client counts in one frame.")] = "1,100,1000",
    spread_frames: Annotated[int, typer.Option(min=0, help="Frames of the spread scenario (0: skip it).")] = 200,
    spread_clients: Annotated[int, typer.Option(min=1, help="Clients of the spread scenario.")] = 1000,
    samples: Annotated[int, typer.Option(min=1, help="Outcomes per one-frame scenario.")] = 40,
) -> None:
    """WebSocket fan-out latency, commit to client, beside the raw NOTIFY round trip: N clients
    in one frame, and clients spread over many frames (clients in their own processes)."""
    from benchmarks import fanout

    counts = _counts(clients, "--clients")
    settings = Settings()
    with _bench_dsn(settings, database_url) as url:
        doc = run(fanout.run(url, counts, samples=samples,
                             spread=(spread_frames, spread_clients) if spread_frames else None,
                             progress=lambda m: console.print(m)))
    sys.stdout.write(json.dumps(doc, indent=None if as_json else 2) + "\n")


def _counts(text: str, flag: str) -> tuple[int, ...]:
    """A comma-separated list of positive integers, or a usage error naming ``flag``."""
    try:
        counts = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of integers", param_hint=flag) from None
    if not counts or min(counts) < 1:
        raise typer.BadParameter("each count must be at least 1", param_hint=flag)
    return counts


def _print_timer_table(doc: dict[str, Any]) -> None:
    from rich.table import Table

    for title, rows in (("spread", {k: v for k, v in doc.items() if k != "burst"}),
                        ("burst", doc["burst"])):
        t = Table(title=f"timers: {title}")
        for col in ("engine", "n", "fired", "dup", "missing", "p50 ms", "p90 ms", "p99 ms", "max ms",
                    "drain ms"):
            t.add_column(col)
        for name, r in rows.items():
            lat = r["lateness_ms"]
            t.add_row(name, str(r["n"]), str(r["fired"]), str(r["duplicates"]), str(r["missing"]),
                      *(str(lat.get(k)) for k in ("p50", "p90", "p99", "max")), str(r.get("drain_ms")))
        Console().print(t)
