"""Metrics Prometheus can use (issue 17, item 6): histograms observed where things happen (the
worker's lateness and synthesis, the LLM wrapper's calls), a worker's own metrics port, and the
database's numbers exported by one process per database, taken over when that process goes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from api.metrics import Metrics
from api.realtime import Gateway
from synthesis import store, telemetry
from synthesis.clock import FakeClock, SystemClock
from synthesis.store_api import ApiStore
from tests.integration.api_support import free_port
from tests.integration.helpers import commit, make_frame, scripted_registry, three_players
from workers.worker import Worker

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return telemetry.REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_the_worker_observes_lateness_synthesis_and_llm_time(st: store.Store, db_url: str) -> None:
    clock = FakeClock(autojump=False)
    cast = await make_frame(st, three_players())
    await commit(st, cast, "Alda", "I attack", -2, clock.now())
    clock.advance(6)  # due 1 s ago: the claim is 1 s late on the injected clock
    before = (sample("medium_timer_lateness_seconds_count"),
              sample("medium_synthesis_seconds_count", {"result": "done"}),
              sample("medium_llm_seconds_count", {"provider": "scripted"}),
              sample("medium_timer_lateness_seconds_bucket", {"le": "0.5"}))
    w = Worker(st, scripted_registry(), dsn=db_url, clock=clock, burst=True, listen=False)
    await w.run()
    assert w.stats.done == 1
    assert sample("medium_timer_lateness_seconds_count") == before[0] + 1
    assert sample("medium_synthesis_seconds_count", {"result": "done"}) == before[1] + 1
    assert sample("medium_llm_seconds_count", {"provider": "scripted"}) >= before[2] + 1
    # the lateness went into the 1 s bucket, not the 0.5 s one
    assert sample("medium_timer_lateness_seconds_bucket", {"le": "0.5"}) == before[3]


async def test_one_process_per_database_exports_the_database_numbers(db_url: str) -> None:
    pool = await store.create_pool(db_url, min_size=1, max_size=2)
    st = ApiStore(pool)
    gateway = Gateway(st, dsn=None, narrator="scripted", now=SystemClock().now)
    first, second = Metrics(db_url), Metrics(db_url)
    try:
        a = await first.render(st, gateway)
        b = await second.render(st, gateway)
        assert "medium_metrics_leader 1.0" in a
        assert "medium_open_windows" in a
        assert "medium_metrics_leader 0.0" in b
        assert "medium_open_windows" not in b
        assert "medium_db_llm_tokens" not in b
        # both still serve their own process's metrics
        for text in (a, b):
            assert "medium_timer_lateness_seconds_bucket" in text
            assert "medium_websocket_clients 0.0" in text
        await first.aclose()  # the leader goes away: its session, and its lock, end
        b = await second.render(st, gateway)
        assert "medium_metrics_leader 1.0" in b
        assert "medium_open_windows" in b
    finally:
        await first.aclose()
        await second.aclose()
        await pool.close()


async def test_medium_worker_serves_its_metrics_on_the_metrics_port(db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "MEDIUM_LLM": "scripted", "MEDIUM_LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workers", "worker", "--database-url", db_url, "--no-actors",
        "--metrics-port", str(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        text = ""
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    text = (await client.get(f"http://127.0.0.1:{port}/")).text
                    break
                except httpx.TransportError:
                    assert proc.returncode is None, f"the worker exited with {proc.returncode}"
                    await asyncio.sleep(0.1)
        for name in ("medium_timer_lateness_seconds", "medium_synthesis_seconds", "medium_llm_seconds"):
            assert f"# TYPE {name} histogram" in text, text[:500]
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)


def test_a_taken_metrics_port_is_refused_with_a_message(db_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "workers", "worker", "--database-url", db_url,
                               "--metrics-port", str(port)], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, env={**os.environ, "MEDIUM_LLM": "scripted"})
    assert done.returncode == 2
    assert f"--metrics-port {port}" in done.stdout + done.stderr
