"""Peer side of ``medium bench timers``: how precisely do other timer mechanisms fire?

Every peer gets the same :class:`Workload` (N one-shot timers with wall-clock due
times) and reports a :class:`PeerResult`:

* **lateness** - ``time.time()`` recorded as the first statement of the handler minus
  the job's wall-clock due time (negative would mean "fired early");
* **drain** (burst only) - from the shared due instant until the *last* job began
  (``None`` when some jobs are missing);
* **duplicates** - extra firings of a job already fired; **missing** - jobs that
  never fired before ``last due + 30 s`` (a slow peer is reported, not waited on).

Peers:

``pgqueuer``               durable queue, ``execute_after``; worker sleeps until the
                           next deferred job's ETA (floored at pgqueuer's 0.1 s).
``procrastinate_default``  durable queue, ``schedule_at``, default 5 s polling.
``procrastinate_fast``     same with ``fetch_job_polling_interval=0.1``.
``apscheduler``            APScheduler 3 ``AsyncIOScheduler``, in-memory date triggers
                           (not durable: a floor for a scheduler library).
``asyncio``                bare ``loop.call_at`` (the in-process floor).
``notify``                 Postgres NOTIFY round trip: a sender wakes at each due time
                           and NOTIFYs, a LISTEN connection receives; lateness is
                           receive time - due time (so it includes the sender's wake-up).

Every database-backed peer runs in its own fresh database ``bench_<peer>_<hex>``,
created through ``dsn`` and dropped (``WITH (FORCE)``) afterwards.
The optional peer libraries are imported lazily so this module imports without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks._stats import summarize
from synthesis import installed, store

#: A peer gets this long after the last due time before unfired jobs count as missing.
MISSING_AFTER_S = 30.0
#: After the last job fired, keep the peer running this long to catch duplicates.
LINGER_S = 0.25
#: Time the consumer gets to start (LISTEN, first poll) before the clock starts.
SETTLE_S = 0.25


@dataclass
class Workload:
    """N timers due evenly over ``spread_s`` seconds (0 = all at one instant),
    the first one ``warmup_s`` after the workload's t0."""

    name: str
    n: int
    spread_s: float
    warmup_s: float = 1.0

    @classmethod
    def spread(cls, n: int = 1000, seconds: float = 10.0) -> Workload:
        return cls(name="spread", n=n, spread_s=seconds)

    @classmethod
    def burst(cls, n: int = 5000) -> Workload:
        return cls(name="burst", n=n, spread_s=0.0)

    @property
    def is_burst(self) -> bool:
        return self.spread_s <= 0.0

    def due_times(self, t0: float) -> list[float]:
        """Wall-clock due times: ``t0 + warmup + i * spread / n`` (ascending)."""
        step = self.spread_s / self.n if self.n else 0.0
        return [t0 + self.warmup_s + i * step for i in range(self.n)]


@dataclass
class PeerResult:
    n: int
    fired: int
    duplicates: int
    missing: int
    lateness_ms: dict[str, float | None]
    drain_ms: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "fired": self.fired,
            "duplicates": self.duplicates,
            "missing": self.missing,
            "lateness_ms": {k: _round(v) for k, v in self.lateness_ms.items()},
            "drain_ms": _round(self.drain_ms),
            "note": self.note,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class _Recorder:
    """Counts firings per job index and remembers the first firing's wall time."""

    n: int
    counts: list[int] = field(init=False)
    first: list[float | None] = field(init=False)
    fired: int = field(init=False, default=0)
    done: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.counts = [0] * self.n
        self.first = [None] * self.n
        if self.n == 0:
            self.done.set()

    def hit(self, index: int, at: float | None = None) -> None:
        now = time.time() if at is None else at
        self.counts[index] += 1
        if self.counts[index] == 1:
            self.first[index] = now
            self.fired += 1
            if self.fired == self.n:
                self.done.set()

    async def wait(self, dues: list[float]) -> None:
        """Until every job fired (plus a short linger) or ``last due + MISSING_AFTER_S``."""
        deadline = (dues[-1] if dues else time.time()) + MISSING_AFTER_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), max(0.0, deadline - time.time()))
        if self.done.is_set():
            await asyncio.sleep(LINGER_S)

    def result(self, workload: Workload, dues: list[float], note: str) -> PeerResult:
        lateness = [
            (first - due) * 1000.0
            for first, due in zip(self.first, dues, strict=True)
            if first is not None
        ]
        fired = sum(1 for c in self.counts if c)
        drain_ms = None
        if workload.is_burst and lateness:
            if fired == workload.n:
                drain_ms = max(lateness)  # every job shares the due instant
            else:  # the last job never began: drain is undefined, say how far it got
                note = f"{note}; drain n/a, last firing at +{max(lateness):.0f} ms"
        return PeerResult(
            n=workload.n,
            fired=fired,
            duplicates=sum(c - 1 for c in self.counts if c > 1),
            missing=workload.n - fired,
            lateness_ms=summarize(lateness),
            drain_ms=drain_ms,
            note=note,
        )


# --------------------------------------------------------------------------- databases


def _dsn_with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("peers need a postgresql:// URL dsn")
    return urlunsplit(parts._replace(path="/" + database))


@contextlib.asynccontextmanager
async def fresh_database(dsn: str, peer: str) -> AsyncIterator[str]:
    """Create ``bench_<peer>_<hex>`` via ``dsn`` (the admin connection), yield its dsn,
    then drop it, even if connections were left behind."""
    name = f"bench_{peer}_{secrets.token_hex(4)}"
    await store.create_database(dsn, name)
    url = _dsn_with_database(dsn, name)
    try:
        yield url
    finally:
        await store.drop_database(url, admin_dsn=dsn)


# --------------------------------------------------------------------------- peers

PGQUEUER_DEQUEUE_TIMEOUT = timedelta(seconds=0.1)
PGQUEUER_BATCH_SIZE = 100


async def run_pgqueuer(dsn: str, workload: Workload) -> PeerResult:
    """pgqueuer: jobs enqueued with ``execute_after``; one QueueManager consumes them."""
    with installed.extra("bench", "the pgqueuer peer"):
        from pgqueuer import Job, Queries, QueueManager

    async with fresh_database(dsn, "pgqueuer") as db:
        worker_conn = await store.connect(db)
        producer_conn = await store.connect(db)
        try:
            await Queries.from_asyncpg_connection(producer_conn).install()
            qm = QueueManager(Queries.from_asyncpg_connection(worker_conn))
            rec = _Recorder(workload.n)

            @qm.entrypoint("timer", accepts_context=False)
            async def timer(job: Job) -> None:
                now = time.time()
                rec.hit(int(job.payload or 0), now)

            worker = asyncio.create_task(
                qm.run(dequeue_timeout=PGQUEUER_DEQUEUE_TIMEOUT, batch_size=PGQUEUER_BATCH_SIZE)
            )
            try:
                await asyncio.sleep(SETTLE_S)
                dues = workload.due_times(time.time())
                # execute_after is relative to the database's NOW() at insert time;
                # one batched INSERT, so the client/server offset is one round trip.
                now = time.time()
                await Queries.from_asyncpg_connection(producer_conn).enqueue(
                    ["timer"] * workload.n,
                    [str(i).encode() for i in range(workload.n)],
                    [0] * workload.n,
                    [timedelta(seconds=due - now) for due in dues],
                )
                await rec.wait(dues)
            finally:
                qm.shutdown.set()
                await worker
        finally:
            await worker_conn.close()
            await producer_conn.close()
    note = (
        f"pgqueuer run(dequeue_timeout={PGQUEUER_DEQUEUE_TIMEOUT.total_seconds()}s, "
        f"batch_size={PGQUEUER_BATCH_SIZE}); ETA wake-up floored at "
        f"min_dequeue_poll_interval={qm.min_dequeue_poll_interval.total_seconds()}s"
    )
    return rec.result(workload, dues, note)


PROCRASTINATE_CONCURRENCY = 10


async def _run_procrastinate(
    dsn: str, workload: Workload, peer: str, polling_s: float | None
) -> PeerResult:
    with installed.extra("bench", "the procrastinate peers"):
        import procrastinate

    worker_options: dict[str, Any] = {
        "concurrency": PROCRASTINATE_CONCURRENCY,
        "install_signal_handlers": False,
    }
    if polling_s is not None:
        worker_options["fetch_job_polling_interval"] = polling_s

    async with fresh_database(dsn, peer) as db:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=db))
        rec = _Recorder(workload.n)

        @app.task(name="timer")
        async def timer(i: int) -> None:
            rec.hit(i)

        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            worker = asyncio.create_task(app.run_worker_async(**worker_options))
            try:
                await asyncio.sleep(SETTLE_S)
                dues = workload.due_times(time.time())
                jobs = [
                    timer.configure(schedule_at=datetime.fromtimestamp(due, UTC)).make_new_job(i=i)
                    for i, due in enumerate(dues)
                ]
                await app.job_manager.batch_defer_jobs_async(jobs)  # one INSERT
                await rec.wait(dues)
            finally:
                worker.cancel()  # the documented way: stops gracefully, then re-raises
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
    polling = "default 5.0" if polling_s is None else f"{polling_s}"
    note = (
        f"procrastinate schedule_at, fetch_job_polling_interval={polling}s, "
        f"concurrency={PROCRASTINATE_CONCURRENCY}"
    )
    return rec.result(workload, dues, note)


async def run_procrastinate_default(dsn: str, workload: Workload) -> PeerResult:
    return await _run_procrastinate(dsn, workload, "procrastinate_default", None)


async def run_procrastinate_fast(dsn: str, workload: Workload) -> PeerResult:
    return await _run_procrastinate(dsn, workload, "procrastinate_fast", 0.1)


async def run_apscheduler(dsn: str, workload: Workload) -> PeerResult:
    """APScheduler 3 AsyncIOScheduler, memory job store, one date trigger per job."""
    with installed.extra("bench", "the APScheduler peer"):
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

    rec = _Recorder(workload.n)

    async def timer(i: int) -> None:  # coroutine: runs on the loop, not in a thread pool
        rec.hit(i)

    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"misfire_grace_time": 3600, "coalesce": False, "max_instances": 1},
    )
    scheduler.start()
    try:
        dues = workload.due_times(time.time())
        for i, due in enumerate(dues):
            scheduler.add_job(
                timer, "date", run_date=datetime.fromtimestamp(due, UTC), args=[i], id=str(i)
            )
        await rec.wait(dues)
    finally:
        scheduler.shutdown(wait=False)
    return rec.result(workload, dues, "APScheduler 3 AsyncIOScheduler, in-memory, date trigger")


async def run_asyncio(dsn: str, workload: Workload) -> PeerResult:
    """``loop.call_at`` per job: the in-process floor."""
    loop = asyncio.get_running_loop()
    rec = _Recorder(workload.n)
    dues = workload.due_times(time.time())
    wall, mono = time.time(), loop.time()
    handles = [loop.call_at(mono + (due - wall), rec.hit, i) for i, due in enumerate(dues)]
    try:
        await rec.wait(dues)
    finally:
        for handle in handles:
            handle.cancel()
    return rec.result(workload, dues, "asyncio loop.call_at")


NOTIFY_CHANNEL = "bench_timer"


async def run_notify(dsn: str, workload: Workload) -> PeerResult:
    """A sender wakes at each due time and NOTIFYs every job due by then in one
    statement (one NOTIFY per job); a LISTEN connection records receipt."""
    async with fresh_database(dsn, "notify") as db:
        listener = await store.connect(db)
        sender = await store.connect(db)
        rec = _Recorder(workload.n)

        def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            rec.hit(int(payload))

        try:
            await listener.add_listener(NOTIFY_CHANNEL, on_notify)
            await asyncio.sleep(SETTLE_S)
            dues = workload.due_times(time.time())
            sender_task = asyncio.create_task(_notify_at(sender, dues))
            try:
                await rec.wait(dues)
            finally:
                if not sender_task.done():
                    sender_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender_task
            await listener.remove_listener(NOTIFY_CHANNEL, on_notify)
        finally:
            await listener.close()
            await sender.close()
    return rec.result(
        workload, dues, "asyncpg NOTIFY at due time -> LISTEN receipt (one send loop)"
    )


async def _notify_at(sender: store.DedicatedConnection, dues: list[float]) -> None:
    k = 0
    while k < len(dues):
        delay = dues[k] - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.time()
        j = k
        while j < len(dues) and dues[j] <= now:
            j += 1
        if j > k:
            await store.notify_each(sender, NOTIFY_CHANNEL, list(range(k, j)))
            k = j


PeerRunner = Callable[[str, Workload], Awaitable[PeerResult]]

PEERS: dict[str, PeerRunner] = {
    "pgqueuer": run_pgqueuer,
    "procrastinate_default": run_procrastinate_default,
    "procrastinate_fast": run_procrastinate_fast,
    "apscheduler": run_apscheduler,
    "asyncio": run_asyncio,
    "notify": run_notify,
}


def _summary_line(name: str, result: dict[str, Any]) -> str:
    lat = result["lateness_ms"]

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    drain = "" if result["drain_ms"] is None else f" drain={fmt(result['drain_ms'])}ms"
    return (
        f"  {name:<22} fired={result['fired']}/{result['n']} dup={result['duplicates']} "
        f"missing={result['missing']} p50={fmt(lat['p50'])} p99={fmt(lat['p99'])} "
        f"max={fmt(lat['max'])}ms{drain}"
    )


async def run_peers(
    dsn: str,
    workloads: Iterable[Workload],
    names: Iterable[str] | None = None,
    progress: Callable[[str], object] | None = print,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Run the selected peers (all by default) sequentially on each workload.

    Returns ``{workload_name: {peer_name: PeerResult.to_dict()}}``. A peer that
    raises is reported with ``fired=0`` and the error in ``note`` instead of
    aborting the whole run.
    """
    selected = list(PEERS) if names is None else list(names)
    unknown = [name for name in selected if name not in PEERS]
    if unknown:
        raise ValueError(f"unknown peers {unknown}; choose from {sorted(PEERS)}")
    say = progress or (lambda _msg: None)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for workload in workloads:
        say(f"{workload.name}: n={workload.n} spread={workload.spread_s}s")
        row = out.setdefault(workload.name, {})
        for name in selected:
            try:
                result = (await PEERS[name](dsn, workload)).to_dict()
            except Exception as exc:  # report it, keep benchmarking the others
                result = PeerResult(
                    n=workload.n,
                    fired=0,
                    duplicates=0,
                    missing=workload.n,
                    lateness_ms=summarize([]),
                    drain_ms=None,
                    note=f"error: {exc!r}",
                ).to_dict()
            row[name] = result
            say(_summary_line(name, result))
    return out


if __name__ == "__main__":  # pragma: no cover - manual use
    import json
    import os
    import sys

    _dsn = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    _names = sys.argv[1:] or None
    _res = asyncio.run(
        run_peers(_dsn, [Workload.spread(), Workload.burst()], _names, progress=print)
    )
    print(json.dumps(_res, indent=2))
