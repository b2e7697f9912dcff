"""`medium loadtest` end to end: real API, supervised workers (one SIGKILLed every 7 s), real
HTTP + WebSocket players, and the DESIGN §5 invariants checked from the database and the
players' logs (issue: Mos Eisley), and the time to first token."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance import harness

pytestmark = pytest.mark.acceptance

COUNT_KEYS = {"committed", "resolved", "failed", "duplicated", "lost", "misdelivered", "unincorporated"}
STAGES = {"timer_lateness", "synthesis", "fanout", "end_to_end"}
INVARIANTS = {"exactly_once", "per_character_order", "causality", "isolation", "interrupt", "no_silent_loss"}


async def test_loadtest_two_frames_with_worker_kills(db_url: str, tmp_path: Path) -> None:
    report, plot = tmp_path / "report.json", tmp_path / "plot.png"
    args = [sys.executable, "-m", "workers", "loadtest", "--frames", "2", "--duration", "20",
            "--time-scale", "0.05", "--workers", "2", "--kill-worker-every", "7",
            "--report", str(report), "--plot", str(plot), "--database-url", db_url]
    done = await asyncio.to_thread(
        subprocess.run, args, cwd=harness.ROOT, env=harness.env(MEDIUM_DATA_DIR=str(tmp_path / "data")),
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    assert "no_silent_loss" in done.stdout  # the invariant table is printed

    doc = json.loads(report.read_text())
    assert set(doc["counts"]) == COUNT_KEYS
    assert set(doc["latency_ms"]) == STAGES
    for stage in STAGES:
        assert set(doc["latency_ms"][stage]) == {"p50", "p90", "p99", "max"}
    assert set(doc["llm"]) == {"calls", "prompt_tokens", "completion_tokens", "soft", "committed_actions",
                               "calls_per_action", "medium_tokens_per_action", "prompt_tokens_per_synthesis"}
    assert {"api", "workers"} <= set(doc["processes"])
    assert doc["invariants"] == dict.fromkeys(INVARIANTS, "PASS")

    counts = doc["counts"]
    assert counts["committed"] > 0
    assert counts["lost"] == counts["misdelivered"] == counts["unincorporated"] == counts["duplicated"] == 0
    assert doc["llm"]["calls"] > 0
    assert doc["run"]["frames"] == 2
    assert doc["run"]["characters"] == 10
    assert len(doc["run"]["kills"]) >= 2  # the fault injection ran
    assert doc["processes"]["workers"]["restarts"] >= 2  # and the supervisor restarted them
    # recovery after each kill: the victim's claimed windows, kill → reclaimed (by anyone)
    assert set(doc["recovery_ms"]) == {"p50", "max", "windows", "unrecovered"}
    if doc["recovery_ms"]["windows"]:
        assert 0 <= doc["recovery_ms"]["p50"] <= doc["recovery_ms"]["max"]
    for stage in STAGES:
        assert doc["latency_ms"][stage]["p50"] is not None
    # time to first token: from a window's due time to its first narrative_delta at the owner
    assert set(doc["first_token_ms"]) == {"p50", "p90", "p99", "max"}
    assert doc["first_token_ms"]["p50"] is not None
    assert doc["details"]["first_token"]["windows"] > 0

    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
