"""The benchmark peers fire every timer exactly once on small workloads.

Runs against a real Postgres (TEST_DATABASE_URL, default the local trust server).
Timings are deliberately not asserted: they depend on the machine.
"""

from __future__ import annotations

import os

import asyncpg
import pytest

from benchmarks._stats import median, percentile, summarize
from benchmarks.peers import PEERS, PeerResult, Workload, run_peers

DSN = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

SMALL = [Workload.spread(n=50, seconds=1.0), Workload.burst(n=200)]
# Default procrastinate polls every 5 s: keep its workload tiny so it stays quick.
TINY = [Workload.spread(n=10, seconds=0.5), Workload.burst(n=20)]


async def _bench_databases(peer: str) -> set[str]:
    conn = await asyncpg.connect(DSN)
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database")
    finally:
        await conn.close()
    return {row["datname"] for row in rows if row["datname"].startswith(f"bench_{peer}_")}


def _check(result: PeerResult, workload: Workload) -> None:
    assert result.n == workload.n
    assert result.fired == workload.n, result
    assert result.duplicates == 0, result
    assert result.missing == 0, result
    as_dict = result.to_dict()
    assert set(as_dict) == {
        "n",
        "fired",
        "duplicates",
        "missing",
        "lateness_ms",
        "drain_ms",
        "note",
    }
    assert set(as_dict["lateness_ms"]) == {"p50", "p90", "p99", "max"}
    assert all(v is not None for v in as_dict["lateness_ms"].values())
    if workload.is_burst:
        assert as_dict["drain_ms"] is not None
    else:
        assert as_dict["drain_ms"] is None


@pytest.mark.slow
@pytest.mark.parametrize("workload", SMALL, ids=lambda w: w.name)
@pytest.mark.parametrize("peer", [name for name in PEERS if name != "procrastinate_default"])
async def test_peer_fires_every_job_once(peer: str, workload: Workload) -> None:
    before = await _bench_databases(peer)
    result = await PEERS[peer](DSN, workload)
    _check(result, workload)
    assert await _bench_databases(peer) <= before  # its fresh database was dropped


@pytest.mark.slow
@pytest.mark.parametrize("workload", TINY, ids=lambda w: w.name)
async def test_procrastinate_default_polling_is_slow_but_complete(workload: Workload) -> None:
    result = await PEERS["procrastinate_default"](DSN, workload)
    _check(result, workload)


@pytest.mark.slow
async def test_run_peers_shape() -> None:
    seen: list[str] = []
    out = await run_peers(DSN, [Workload.burst(n=5)], names=["asyncio"], progress=seen.append)
    assert set(out) == {"burst"}
    assert out["burst"]["asyncio"]["fired"] == 5
    assert seen
    with pytest.raises(ValueError, match="unknown peers"):
        await run_peers(DSN, [Workload.burst(n=5)], names=["nope"], progress=None)


def test_workload_due_times() -> None:
    spread = Workload.spread(n=4, seconds=2.0)
    assert spread.due_times(100.0) == [101.0, 101.5, 102.0, 102.5]
    burst = Workload.burst(n=3)
    assert burst.is_burst
    assert burst.due_times(0.0) == [1.0, 1.0, 1.0]


def test_stats_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert summarize(values) == {"p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0}
    assert summarize([]) == {"p50": None, "p90": None, "p99": None, "max": None}
    assert summarize([7.0]) == {"p50": 7.0, "p90": 7.0, "p99": 7.0, "max": 7.0}
    assert percentile([1.0, 2.0, 3.0], 0) == 1.0
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5


@pytest.mark.slow
async def test_timer_bench_runs_medium_tuned_and_stock() -> None:
    from benchmarks import timers

    out = await timers.run(DSN, engines=["medium", "medium-stock"], spread_n=20, spread_s=0.5, burst_n=60,
                           progress=lambda _m: None)
    for res in (out["medium"], out["medium-stock"], out["burst"]["medium"], out["burst"]["medium-stock"]):
        assert (res["fired"], res["duplicates"], res["missing"]) == (res["n"], 0, 0), res
    # The stock row is a Worker as `medium worker` builds it; the tuned one says its settings.
    assert "concurrency 16, claim batch 16 " in out["burst"]["medium-stock"]["note"]
    assert "concurrency 10000, claim batch 5000 " in out["burst"]["medium"]["note"]
    with pytest.raises(ValueError, match="unknown engines"):
        await timers.run(DSN, engines=["medium", "celery"], progress=lambda _m: None)


async def test_throughput_bench_counts_stages_and_the_insert_baseline() -> None:
    from benchmarks import throughput

    base = await throughput.baseline(DSN, n=50)
    assert base["rows"] == 50
    assert base["insert_rows_per_s"] > 0
    for narrator in throughput.NARRATORS:
        doc = await throughput.stage_cpu(DSN, narrator, 12)
        assert doc["windows"] == 12, doc
        per = doc["stages_cpu_ms"]
        assert set(throughput.stages.ORDER) <= set(per)
        # every stage of a synthesis ran and was charged (claim to apply, the narrator included)
        assert all(per[name] > 0 for name in ("claim", "gather", "compile", "parse", "apply")), per
        assert doc["cpu_ms_per_synthesis"] >= sum(v for k, v in per.items() if k != "other") - 1e-3


async def test_fanout_bench_delivers_every_sample_to_clients_in_their_own_processes() -> None:
    from benchmarks import fanout

    doc = await fanout.run(DSN, (3,), samples=3, spread=(2, 4))
    one, spread = doc["fanout"]["3"], doc["spread"]
    assert (one["clients"], one["frames"], one["samples"], one["missing"]) == (3, 1, 3, 0)
    assert (spread["clients"], spread["frames"], spread["samples"], spread["missing"]) == (4, 2, 2, 0)
    for res in (one, spread):
        assert res["connect_errors"] == 0
        assert res["per_client_ms"]["p50"] is not None
        assert res["per_client_ms"]["p50"] > 0  # arrivals come after the commit, on one clock


def test_gauge_reads_prometheus_values() -> None:
    from benchmarks.fanout import gauge

    text = "# TYPE medium_websocket_clients gauge\nmedium_websocket_clients 1000.0\nmedium_x{a=\"b\"} 2\n"
    assert gauge(text, "medium_websocket_clients") == 1000
    assert gauge(text, "medium_x") is None
