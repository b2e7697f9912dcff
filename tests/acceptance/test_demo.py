"""`medium demo` on a fresh data dir: serves the player and GM pages, exits cleanly on SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.harness import ROOT

pytestmark = pytest.mark.acceptance


def test_demo_starts_serves_and_stops(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIUM_LLM")}
    env.update({"MEDIUM_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "400"})
    log = tmp_path / "demo.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "workers", "demo", "--port", "0"], cwd=ROOT,
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            links: list[str] = []
            while time.monotonic() < deadline and len(links) < 4:
                links = re.findall(r"http://127\.0\.0\.1:\d+/(?:gm)?\?frame=\S+", log.read_text())
                time.sleep(0.3)
            assert len(links) == 4, log.read_text()  # three players and the GM
            text = log.read_text()
            assert "scripted narrator" in text
            assert "NPCs (AI actors): Gorrak, Sergeant Vell" in text
            base = links[0].split("/?")[0]
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            player = httpx.get(links[0], timeout=5)
            gm = httpx.get(next(x for x in links if "/gm?" in x), timeout=5)
            assert player.status_code == 200
            assert "<textarea" in player.text
            assert gm.status_code == 200
            frame = re.search(r"frame=([0-9a-f-]+)&token=(\S+)", links[0])
            assert frame
            me = httpx.get(f"{base}/frames/{frame.group(1)}",
                           headers={"Authorization": f"Bearer {frame.group(2)}"}, timeout=5)
            assert me.status_code == 200, me.text
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(60)
    assert code == 0, log.read_text()[-3000:]
    state = (tmp_path / "data" / "demo.json").read_text()  # the data persists for the next run
    assert frame.group(1) in state
    assert frame.group(2) not in state
    assert "token" not in state
