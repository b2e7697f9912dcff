"""The ``medium`` command line (typer). Each command composes synthesis/, api/ and workers/."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from synthesis import auth, migrations, scenario, store
from synthesis.errors import MediumError
from synthesis.settings import Settings
from workers import runtime

app = typer.Typer(help="medium: multiplayer roleplay narrated by AI, on Postgres.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
scenario_app = typer.Typer(help="Scenario files.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")
console = Console(stderr=True)

DatabaseOpt = Annotated[str | None, typer.Option("--database-url", help="Postgres URL; default: "
                        "DATABASE_URL, else 127.0.0.1:5432, else embedded pgserver.")]


def fail(exc: BaseException, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code)


def run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except MediumError as exc:
        fail(exc)


async def prepare_database(url: str) -> list[str]:
    """Create the database if needed and apply pending migrations."""
    await store.ensure_database(url)
    return await migrations.apply(url)


@app.command()
def migrate(database_url: DatabaseOpt = None) -> None:
    """Apply pending migrations from supabase/migrations/ (idempotent)."""
    settings = Settings()
    with runtime.database_url(settings, database_url) as db:
        applied = run(prepare_database(db.url))
    if applied:
        for name in applied:
            console.print(f"applied {name}")
    else:
        console.print("database is up to date")


def player_link(base: str, frame_id: Any, token: str, gm: bool = False) -> str:
    return f"{base.rstrip('/')}/{'gm' if gm else ''}?frame={frame_id}&token={token}"


async def load_scenario(url: str, path: Path, settings: Settings, *, actors_always: bool = False
                        ) -> dict[str, Any]:
    sc = scenario.load_scenario_file(path)  # validate before touching the database
    await prepare_database(url)
    pool = await store.create_pool(url, max_size=2)
    try:
        installed = await scenario.install(store.Store(pool), sc, actors_always=actors_always)
    finally:
        await pool.close()
    return with_tokens({
        "frame_id": str(installed.frame_id),
        "name": sc.name,
        "gm": {"user_id": str(installed.gm_user_id)},
        "characters": [
            {"name": c.name, "id": str(c.id), "handle": c.handle, "user": c.user,
             "user_id": str(c.user_id) if c.user_id else None}
            for c in installed.characters
        ],
    }, settings)


def with_tokens(doc: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A loaded-scenario document with a fresh access token for the GM and every player."""
    secret = settings.medium_jwt_secret.get_secret_value()
    doc["gm"]["token"] = auth.issue_token(secret, doc["gm"]["user_id"])
    for c in doc["characters"]:
        c["token"] = auth.issue_token(secret, c["user_id"]) if c["user_id"] else None
    return doc


def without_tokens(doc: dict[str, Any]) -> dict[str, Any]:
    """The same document with no bearer tokens in it (safe to keep on disk)."""
    return {**doc, "gm": {k: v for k, v in doc["gm"].items() if k != "token"},
            "characters": [{k: v for k, v in c.items() if k != "token"} for c in doc["characters"]]}


def print_loaded(doc: dict[str, Any], base_url: str | None) -> None:
    out = Console()
    out.print(f"[bold]{doc['name']}[/]  frame [cyan]{doc['frame_id']}[/]")
    for c in doc["characters"]:
        who = f"player [green]{c['user']}[/] ({c['user_id']})" if c["user"] else "[dim]NPC[/]"
        out.print(f"  {c['name']:<16} {c['id']}  {who}")
        if c["token"]:
            out.print(f"    token: {c['token']}")
            if base_url:
                out.print(f"    link:  {player_link(base_url, doc['frame_id'], c['token'])}")
    out.print(f"  [bold]GM[/] user {doc['gm']['user_id']}")
    out.print(f"    token: {doc['gm']['token']}")
    if base_url:
        out.print(f"    link:  {player_link(base_url, doc['frame_id'], doc['gm']['token'], gm=True)}")


@scenario_app.command("load")
def scenario_load(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file (DESIGN §10).")],
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    base_url: Annotated[str, typer.Option(help="Where the API is served, for links.")] =
        "http://127.0.0.1:8000",
) -> None:
    """Validate FILE and create its frame, characters, users and a GM; print tokens and links."""
    settings = Settings()
    try:
        scenario.load_scenario_file(file)
    except MediumError as exc:
        fail(exc)
    with runtime.database_url(settings, database_url) as db:
        doc = run(load_scenario(db.url, file, settings))
    if as_json:
        sys.stdout.write(json.dumps({k: v for k, v in doc.items() if k != "name"}) + "\n")
    else:
        print_loaded(doc, base_url)




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
    if state_path.exists():
        state = json.loads(state_path.read_text())
        pool = await store.create_pool(url, max_size=2)
        try:
            exists = await store.Store(pool).get_frame(uuid.UUID(state["frame_id"]))
        finally:
            await pool.close()
        if exists:
            return with_tokens(state, settings)
    doc = await load_scenario(url, scenario.MOS_EISLEY, settings)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(without_tokens(doc)))  # tokens are minted per run
    return doc


@app.command()
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


def freeze_startup_objects() -> None:
    """Everything allocated while a worker process starts (modules, pools, models) lives as long
    as the process: move it out of the collector's generations, so a burst's thousands of
    short-lived tasks and rows do not pay for full collections walking ~200k long-lived
    objects. Process-wide, so it belongs to the process entry point, not to ``Worker``."""
    gc.freeze()


async def _serve_worker(url: str, settings: Settings, *, concurrency: int, burst: bool,
                        worker_id: str | None, lease: float, poll: float, grace: float,
                        actors: bool = True) -> int:
    import signal

    from synthesis.llm.registry import Registry
    from workers.worker import Worker

    await prepare_database(url)
    pool = await store.create_pool(url, min_size=2, max_size=max(4, concurrency // 2 + 2),
                                   realtime=settings.medium_realtime)
    registry = Registry(settings)
    st = store.Store(pool)
    w = Worker(st, registry, dsn=url, worker_id=worker_id, concurrency=concurrency,
               burst=burst, lease_seconds=lease, poll_interval=poll, grace_seconds=grace,
               time_scale=settings.medium_time_scale)
    if actors and not burst:
        from workers.actors import Actors

        w.extra_tasks["actors"] = Actors(st, registry, dsn=url, clock=w.clock,
                                         time_scale=settings.medium_time_scale).run
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, w.stop)
    freeze_startup_objects()
    try:
        await w.run()
    finally:
        await registry.aclose()
        await pool.close()
    s = w.stats
    console.print(f"worker {w.worker_id}: claimed {s.claimed}, done {s.done}, retried {s.retried}, "
                  f"failed {s.failed}, released {s.released}")
    return 0


@app.command()
def worker(
    database_url: DatabaseOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Syntheses in flight at once.")] = 16,
    burst: Annotated[bool, typer.Option("--burst", help="Synthesize what is due, then exit.")] = False,
    worker_id: Annotated[str | None, typer.Option("--id", help="Worker name in logs and leases.")] = None,
    lease: Annotated[float, typer.Option(min=1, help="Lease seconds (heartbeat every lease/3).")] = 30.0,
    poll: Annotated[float, typer.Option(min=0.05, help="Poll fallback seconds.")] = 2.0,
    grace: Annotated[float, typer.Option(min=0, help="Shutdown grace seconds.")] = 10.0,
    actors: Annotated[bool, typer.Option("--actors/--no-actors",
                                         help="Drive NPCs (one worker leads at a time).")] = True,
) -> None:
    """Run a Medium worker: claim due windows and synthesize them (any number, any machine)."""
    settings = Settings()
    runtime.setup_logging(settings.medium_log_level)
    with runtime.database_url(settings, database_url) as db:
        code = run(_serve_worker(db.url, settings, concurrency=concurrency, burst=burst,
                                 worker_id=worker_id, lease=lease, poll=poll, grace=grace,
                                 actors=actors))
    raise typer.Exit(code or 0)


@app.command()
def directive(
    frame: Annotated[str, typer.Option("--frame", help="Frame id.")],
    character: Annotated[str, typer.Option("--character", help="Character id or handle.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Print the prompt this character's Medium would send if it woke now."""
    from synthesis import medium
    from synthesis.llm.registry import Registry

    settings = Settings()

    async def go(url: str) -> str:
        pool = await store.create_pool(url, max_size=2)
        try:
            st = store.Store(pool)
            frame_id = _uuid(frame, "--frame")
            cid = await _character_id(st, frame_id, character)
            return await medium.preview(st, Registry(settings), frame_id, cid)
        finally:
            await pool.close()

    with runtime.database_url(settings, database_url) as db:
        text = run(go(db.url))
    sys.stdout.write(text)


def _uuid(value: str, flag: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        fail(MediumError(f"{flag}: {value!r} is not a valid id"))


async def _character_id(st: store.Store, frame_id: Any, ref: str) -> Any:
    from synthesis.errors import NotFound

    cast = await st.list_characters(frame_id)
    if not cast and await st.get_frame(frame_id) is None:
        raise NotFound(f"frame {frame_id} not found", field="--frame")
    for c in cast:
        if str(c.id) == ref or c.handle == ref or c.name.lower() == ref.lower():
            return c.id
    raise NotFound(f"no character {ref!r} in this frame (handles: "
                   f"{', '.join(c.handle for c in cast)})", field="--character")


@app.command()
def submit(
    frame: Annotated[str, typer.Option("--frame", help="Frame id.")],
    character: Annotated[str, typer.Option("--character", help="Character id, handle or name.")],
    text: Annotated[str, typer.Option("--text", help="The action (liquid).")],
    commit: Annotated[bool, typer.Option("--commit", help="Commit at once (opens the window).")] = False,
    client_key: Annotated[str | None, typer.Option(
        "--client-key", help="Idempotency key: rerunning with the same key returns the first "
                             "submission instead of adding a second action.")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Submit liquid through the same code path as the API (for scripting and GMs)."""
    from synthesis import liquid
    from synthesis.clock import SystemClock
    from synthesis.llm.registry import Registry

    settings = Settings()

    async def go(url: str) -> dict[str, Any]:
        pool = await store.create_pool(url, max_size=2)
        registry = Registry(settings)
        try:
            st = store.Store(pool)
            frame_id = _uuid(frame, "--frame")
            cid = await _character_id(st, frame_id, character)
            sub = await liquid.submit(st, registry, frame_id=frame_id, character_id=cid,
                                      content=text, now=SystemClock().now(), commit=commit,
                                      time_scale=settings.medium_time_scale, client_key=client_key)
            return sub.liquid.model_dump(mode="json")
        finally:
            await registry.aclose()
            await pool.close()

    with runtime.database_url(settings, database_url) as db:
        doc = run(go(db.url))
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


@app.command()
def up(
    workers: Annotated[int, typer.Option("--workers", min=0, help="Worker processes.")] = 2,
    host: Annotated[str, typer.Option(help="API host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
    database_url: DatabaseOpt = None,
) -> None:
    """Run the API plus N supervised worker processes (a crashed worker is restarted)."""
    from workers.supervisor import Child, Supervisor, medium_argv

    settings = Settings()
    runtime.setup_logging(settings.medium_log_level)
    with runtime.database_url(settings, database_url) as db:
        run(prepare_database(db.url))
        children = [Child("api", medium_argv("api", "--host", host, "--port", str(port),
                                             "--database-url", db.url))]
        children += [Child(f"worker-{i + 1}", medium_argv("worker", "--database-url", db.url,
                                                          "--id", f"worker-{i + 1}"))
                     for i in range(workers)]
        console.print(f"medium up: API on http://{host}:{port}, {workers} workers, database {db.source}")
        code = asyncio.run(Supervisor(children).run())
    raise typer.Exit(code)


bench_app = typer.Typer(help="Side-by-side benchmarks (results go in benchmarks/RESULTS.md).",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")


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
    engines: Annotated[str | None, typer.Option(help="Comma-separated subset, e.g. medium,pgqueuer")] = None,
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
) -> None:
    """Syntheses per second at 1, 2 and 4 worker processes (zero-latency scripted narrator),
    and database round trips per synthesis."""
    from benchmarks import throughput

    settings = Settings()
    with _bench_dsn(settings, database_url) as url:
        doc = run(throughput.run(url, n=windows, progress=lambda m: console.print(m)))
    sys.stdout.write(json.dumps(doc, indent=None if as_json else 2) + "\n")


@bench_app.command("fanout")
def bench_fanout(
    database_url: DatabaseOpt = None,
    clients: Annotated[str, typer.Option(help="Comma-separated client counts.")] = "1,100,1000",
) -> None:
    """WebSocket fan-out latency at N clients beside the raw NOTIFY round trip."""
    from benchmarks import fanout

    settings = Settings()
    with _bench_dsn(settings, database_url) as url:
        doc = run(fanout.run(url, tuple(int(x) for x in clients.split(",")),
                             progress=lambda m: console.print(m)))
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


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


@app.command("api")
def api_command(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    database_url: DatabaseOpt = None,
) -> None:
    """Serve the HTTP API and the realtime gateway (migrations are applied first)."""
    import uvicorn

    from api.app import create_app, redact_tokens_in_server_logs

    settings = Settings()
    runtime.setup_logging(settings.medium_log_level)
    redact_tokens_in_server_logs()
    with runtime.database_url(settings, database_url) as db:
        run(prepare_database(db.url))
        application = create_app(settings.model_copy(update={"database_url": db.url}))
        console.print(f"medium api on http://{host}:{port} (docs at /docs), database {db.source}")
        uvicorn.run(application, host=host, port=port, ws="websockets-sansio", ws_ping_interval=20.0,
                    ws_ping_timeout=20.0, log_config=None, log_level=settings.medium_log_level.lower(),
                    timeout_graceful_shutdown=10)


@app.command()
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
) -> None:
    """Simulate players against a real stack; report latency and the DESIGN §5 invariants
    (exit 1 on any FAIL)."""
    from synthesis.llm.scripted import Latency
    from workers.loadtest import Config, main

    try:
        scenario.load_scenario_file(scenario_file)
        Latency.parse(llm_latency)
    except MediumError as exc:
        fail(exc)
    if api and not (database_url or Settings().database_url):
        fail(MediumError("--api needs --database-url (or DATABASE_URL): the database that API serves"))
    cfg = Config(scenario=scenario_file, frames=frames, duration=duration, time_scale=time_scale,
                 workers=workers, llm=llm, llm_latency=llm_latency, kill_worker_every=kill_worker_every,
                 report=report, plot=plot, database_url=database_url, api=api, seed=seed,
                 worker_concurrency=worker_concurrency, lease=lease, drop_client_every=drop_client_every)
    raise typer.Exit(main(cfg, console))


from workers.commands import evaluate, narrator  # noqa: E402  (command modules register last)

app.add_typer(narrator.app, name="narrator")
app.command("eval")(evaluate.eval_command)
