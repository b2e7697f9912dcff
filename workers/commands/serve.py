"""Commands that run the service: ``migrate``, ``api``, ``worker`` and ``up`` (the API plus
supervised workers). Each applies pending migrations before serving, unless
``MEDIUM_AUTO_MIGRATE=false``; ``migrate`` always does."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from synthesis import store
from synthesis.settings import Settings
from workers import runtime
from workers.commands.common import DatabaseOpt, console, prepare_database, refuse_public_dev_secret, run


def migrate(database_url: DatabaseOpt = None) -> None:
    """Apply pending migrations from supabase/migrations/ (idempotent)."""
    settings = Settings()
    with runtime.database_url(settings, database_url) as db:
        applied = run(prepare_database(db.url, settings, always_migrate=True))
    if applied:
        for name in applied:
            console.print(f"applied {name}")
    else:
        console.print("database is up to date")


async def _serve_worker(url: str, settings: Settings, *, concurrency: int, burst: bool,
                        worker_id: str | None, lease: float, poll: float, grace: float,
                        actors: bool = True, stream: bool = True) -> int:
    import signal

    from synthesis.llm.registry import Registry
    from workers.worker import Worker

    await prepare_database(url, settings)
    pool = await store.create_pool(url, min_size=2, max_size=max(4, concurrency // 2 + 2))
    registry = Registry(settings)
    st = store.Store(pool)
    w = Worker(st, registry, dsn=url, worker_id=worker_id, concurrency=concurrency,
               burst=burst, lease_seconds=lease, poll_interval=poll, grace_seconds=grace,
               time_scale=settings.medium_time_scale, live=stream)
    if actors and not burst:
        from workers.actors import Actors

        w.extra_tasks["actors"] = Actors(st, registry, dsn=url, clock=w.clock,
                                         time_scale=settings.medium_time_scale).run
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, w.stop)
    runtime.freeze_startup_objects()
    try:
        await w.run()
    finally:
        await registry.aclose()
        await pool.close()
    s = w.stats
    console.print(f"worker {w.worker_id}: claimed {s.claimed}, done {s.done}, retried {s.retried}, "
                  f"failed {s.failed}, released {s.released}")
    return 0


def worker(
    database_url: DatabaseOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Syntheses in flight at once.")] = 16,
    burst: Annotated[bool, typer.Option("--burst", help="Synthesize what is due, then exit.")] = False,
    worker_id: Annotated[str | None, typer.Option("--id", help="Worker name in logs and leases.")] = None,
    lease: Annotated[float, typer.Option(min=1, help="Lease seconds (heartbeat every lease/3).")] = 30.0,
    poll: Annotated[float, typer.Option(min=0.05, help="Poll fallback seconds (also how soon a dead "
                                        "worker's windows are reclaimed).")] = 1.0,
    grace: Annotated[float, typer.Option(min=0, help="Shutdown grace seconds.")] = 10.0,
    actors: Annotated[bool, typer.Option("--actors/--no-actors",
                                         help="Drive NPCs (one worker leads at a time).")] = True,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="Stream each narrative to its "
                                         "owner and the GM while it is written (narrative_delta).")] = True,
    metrics_port: Annotated[int, typer.Option(min=0, max=65535, help="Serve this worker's Prometheus "
                                              "metrics on this port (0: off).")] = 0,
    metrics_host: Annotated[str, typer.Option(help="Interface of the metrics port.")] = "127.0.0.1",
) -> None:
    """Run a Medium worker: claim due windows and synthesize them (any number, any machine)."""
    settings = Settings()
    runtime.setup_logging(settings.medium_log_level)
    if metrics_port:
        from synthesis import telemetry

        try:
            telemetry.serve(metrics_port, metrics_host)
        except OSError as exc:
            console.print(f"[red]--metrics-port {metrics_port}: cannot listen on {metrics_host}: {exc.strerror}[/red]")
            raise typer.Exit(2) from None
    with runtime.database_url(settings, database_url) as db:
        code = run(_serve_worker(db.url, settings, concurrency=concurrency, burst=burst,
                                 worker_id=worker_id, lease=lease, poll=poll, grace=grace,
                                 actors=actors, stream=stream))
    raise typer.Exit(code or 0)


def up(
    workers: Annotated[int, typer.Option("--workers", min=0, help="Worker processes.")] = 2,
    host: Annotated[str, typer.Option(help="API host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
    database_url: DatabaseOpt = None,
    worker_metrics_port: Annotated[int, typer.Option(min=0, max=65535, help="Worker i serves its "
                                                     "Prometheus metrics on this port + i, on loopback (0: off).")] = 0,
) -> None:
    """Run the API plus N supervised worker processes (a crashed worker is restarted)."""
    from workers.supervisor import Child, Supervisor, medium_argv

    settings = Settings()
    refuse_public_dev_secret(settings, host)
    runtime.setup_logging(settings.medium_log_level)
    with runtime.database_url(settings, database_url) as db:
        run(prepare_database(db.url, settings))
        children = [Child("api", medium_argv("api", "--host", host, "--port", str(port),
                                             "--database-url", db.url))]
        children += [Child(f"worker-{i + 1}", medium_argv(
            "worker", "--database-url", db.url, "--id", f"worker-{i + 1}",
            *(("--metrics-port", str(worker_metrics_port + i)) if worker_metrics_port else ())))
                     for i in range(workers)]
        console.print(f"medium up: API on http://{host}:{port}, {workers} workers, database {db.source}")
        code = asyncio.run(Supervisor(children).run())
    raise typer.Exit(code)


def api_command(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    database_url: DatabaseOpt = None,
) -> None:
    """Serve the HTTP API and the realtime gateway (migrations are applied first, unless
    MEDIUM_AUTO_MIGRATE=false)."""
    import uvicorn

    from api.app import create_app, redact_tokens_in_server_logs

    settings = Settings()
    refuse_public_dev_secret(settings, host)
    runtime.setup_logging(settings.medium_log_level)
    redact_tokens_in_server_logs()
    with runtime.database_url(settings, database_url) as db:
        run(prepare_database(db.url, settings))
        application = create_app(settings.model_copy(update={"database_url": db.url}))
        console.print(f"medium api on http://{host}:{port} (docs at /docs), database {db.source}")
        uvicorn.run(application, host=host, port=port, ws="websockets-sansio", ws_ping_interval=20.0,
                    ws_ping_timeout=20.0, log_config=None, log_level=settings.medium_log_level.lower(),
                    timeout_graceful_shutdown=10)
