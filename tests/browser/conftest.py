"""Browser-test harness: a real ``medium api`` and ``medium worker`` (subprocesses) on a fresh
database, the Mos Eisley scenario loaded through the CLI, and Debian's Chromium driven by the
sync Playwright API (never a downloaded browser)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCENARIO = ROOT / "synthesis" / "scenarios" / "mos_eisley.yaml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STARTUP_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(time_scale: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MEDIUM_LLM", "MEDIUM_SOFT_LLM",
                        "DATABASE_URL", "MEDIUM_LLM_FAIL_RATE"}}
    env["MEDIUM_TIME_SCALE"] = str(time_scale)
    env["MEDIUM_LOG_LEVEL"] = "WARNING"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Stack:
    base_url: str
    frame_id: str
    gm_token: str
    characters: dict[str, dict[str, Any]]  # name -> {id, token, user_id, ...}
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    gm_join: str = ""  # the GM's /join/<code> path from `medium scenario load`

    def player_url(self, name: str) -> str:
        return f"{self.base_url}/?frame={self.frame_id}&token={self.characters[name]['token']}"

    def gm_url(self) -> str:
        return f"{self.base_url}/gm?frame={self.frame_id}&token={self.gm_token}"

    def get(self, path: str, token: str | None = None) -> Any:
        """GET as the GM (or ``token``); the test's own view of the truth."""
        r = httpx.get(self.base_url + path, headers={"Authorization": f"Bearer {token or self.gm_token}"},
                      timeout=10)
        r.raise_for_status()
        return r.json()

    def narratives(self) -> list[dict[str, Any]]:
        return list(self.get(f"/frames/{self.frame_id}/solid"))

    def wait_for(self, what: str, predicate: Any, timeout: float = 60.0) -> Any:
        """Poll the API until ``predicate()`` returns something truthy (readiness, not timing)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what}; logs in {self.logs}")
            time.sleep(0.1)


def _start_stack(db_url: str, tmp_path: Path, time_scale: float,
                 worker_env: dict[str, str] | None = None) -> Stack:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make chromium)")
    env = _env(time_scale)
    load = subprocess.run(
        [sys.executable, "-m", "workers", "scenario", "load", str(SCENARIO), "--database-url", db_url, "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert load.returncode == 0, f"scenario load failed:\n{load.stdout}\n{load.stderr}"
    doc = json.loads(load.stdout.strip().splitlines()[-1])
    port = _free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack(
        base_url=f"http://127.0.0.1:{port}", frame_id=doc["frame_id"], gm_token=doc["gm"]["token"],
        characters={c["name"]: c for c in doc["characters"]}, logs=logs, gm_join=doc["gm"].get("join", ""))
    commands = {
        "api": [sys.executable, "-m", "workers", "api", "--database-url", db_url, "--port", str(port)],
        "worker": [sys.executable, "-m", "workers", "worker", "--database-url", db_url],
    }
    envs = {"api": env, "worker": {**env, **(worker_env or {})}}
    for name, argv in commands.items():
        with open(logs / f"{name}.log", "wb") as out:
            stack.procs.append(subprocess.Popen(argv, cwd=ROOT, env=envs[name], stdout=out,
                                                stderr=subprocess.STDOUT))
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        for name, p in zip(commands, stack.procs, strict=True):
            if p.poll() is not None:
                _stop(stack)
                raise AssertionError(f"medium {name} exited with {p.returncode}:\n" + _tail(logs))
        try:
            if httpx.get(f"{stack.base_url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _stop(stack)
            raise AssertionError("medium api did not become healthy:\n" + _tail(logs))
        time.sleep(0.2)
    return stack


def _tail(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(logs.glob("*.log")))


def _stop(stack: Stack) -> None:
    for p in stack.procs:
        if p.poll() is None:
            p.terminate()
    for p in stack.procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


@pytest.fixture
def stack_factory(db_url: str, tmp_path: Path) -> Iterator[Any]:
    started: list[Stack] = []

    def start(time_scale: float = 0.2, worker_env: dict[str, str] | None = None) -> Stack:
        s = _start_stack(db_url, tmp_path, time_scale, worker_env)
        started.append(s)
        return s

    yield start
    for s in started:
        _stop(s)


@pytest.fixture
def stack(stack_factory: Any) -> Stack:
    started: Stack = stack_factory()
    return started


@pytest.fixture
def browser(db_url: str) -> Iterator[Any]:
    """One Chromium per test. It depends on ``db_url`` so that the async database fixtures are
    set up before, and torn down after, the sync Playwright loop runs in this thread."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Records every state a countdown bar passes through, so a short window is still observable.
TIMER_RECORDER = """
window.__timerStates = [];
new MutationObserver((records) => {
  for (const r of records) {
    const el = r.target;
    if (el.classList && el.classList.contains('timer')) {
      const s = el.dataset.state + (el.dataset.interrupted === 'true' ? ':interrupted' : '');
      if (window.__timerStates[window.__timerStates.length - 1] !== s) window.__timerStates.push(s);
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state', 'data-interrupted']});
"""


# Records every text a narrative preview (article.streaming) shows, with whether the final
# narrative of its window was on the page at that moment.
STREAM_RECORDER = """
window.__stream = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll('article.narrative.streaming')) {
    const text = el.querySelector('.content').textContent;
    const w = el.dataset.window;
    const last = window.__stream.filter((e) => e.window === w).pop();
    if (!text || (last && last.text === text)) continue;
    const final = !!document.querySelector(`#narratives article.narrative[data-window="${w}"]:not(.streaming)`);
    window.__stream.push({ window: w, text, final, where: el.closest('#narratives') ? 'story' : 'live' });
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""
