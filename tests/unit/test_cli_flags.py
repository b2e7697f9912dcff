"""Bad benchmark and load-test flags are refused before anything runs, naming the flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "needle"), [
    (["loadtest", "--pacing", "fast"], "--pacing must be scaled or realtime"),
    (["bench", "throughput", "--narrator", "gpt"], "--narrator"),
    (["bench", "throughput", "--processes", "1,x"], "--processes"),
    (["bench", "fanout", "--clients", "0"], "--clients"),
])
def test_bad_flags_exit_2_naming_the_flag(argv: list[str], needle: str) -> None:
    done = subprocess.run([sys.executable, "-m", "workers", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert needle in done.stdout + done.stderr
