"""`medium up`: the API plus supervised workers; a SIGKILLed worker is restarted; SIGINT stops all."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.acceptance import harness

pytestmark = pytest.mark.acceptance


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_children(pid: int) -> list[psutil.Process]:
    return [c for c in psutil.Process(pid).children() if "worker" in c.cmdline()]


def test_up_restarts_a_killed_worker_and_stops_cleanly(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "up.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "workers", "up", "--workers", "2", "--port", str(port),
                                 "--database-url", db_url], cwd=harness.ROOT, env=harness.env(),
                                stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200 \
                            and len(worker_children(proc.pid)) == 2:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            victims = worker_children(proc.pid)
            assert len(victims) == 2, log.read_text()
            victims[0].send_signal(signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pids = {c.pid for c in worker_children(proc.pid)}
                if len(pids) == 2 and victims[0].pid not in pids:
                    break
                time.sleep(0.2)
            assert len(pids) == 2
            assert victims[0].pid not in pids
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(60)
    assert code == 0
    restarts = [json.loads(line) for line in log.read_text().splitlines()
                if line.startswith("{") and '"child_restart"' in line]
    assert len(restarts) == 1
    assert restarts[0]["code"] == -9


def test_submit_cli_goes_through_the_same_path(db_url: str) -> None:
    out = subprocess.run([sys.executable, "-m", "workers", "scenario", "load", "synthesis/scenarios/mos_eisley.yaml",
                          "--database-url", db_url, "--json"], cwd=harness.ROOT, env=harness.env(),
                         capture_output=True, text=True, check=True)
    frame = json.loads(out.stdout)["frame_id"]
    sub = subprocess.run([sys.executable, "-m", "workers", "submit", "--frame", frame, "--character", "dax_orrun",
                          "--text", "I lean on the bar and study every face in the room", "--commit",
                          "--database-url", db_url], cwd=harness.ROOT, env=harness.env(),
                         capture_output=True, text=True, check=True)
    liquid = json.loads(sub.stdout)
    assert liquid["status"] == "committed"
    assert liquid["timer_expires_at"]
    assert liquid["pscale"] in range(-3, 3)
    bad = subprocess.run([sys.executable, "-m", "workers", "submit", "--frame", frame, "--character", "nobody",
                          "--text", "x", "--database-url", db_url], cwd=harness.ROOT, env=harness.env(),
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "no character 'nobody'" in bad.stderr
    directive = subprocess.run([sys.executable, "-m", "workers", "directive", "--frame", frame, "--character",
                                "dax_orrun", "--database-url", db_url], cwd=harness.ROOT, env=harness.env(),
                               capture_output=True, text=True, check=True)
    assert "I lean on the bar" in directive.stdout
    assert "ORIENTATION" in directive.stdout
    assert re.search(r"Hunting Kessa Vorn", directive.stdout)
    assert "patrol codes in a data chip" not in directive.stdout  # Kessa's internal never leaks
