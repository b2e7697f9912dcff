"""Supervisor options used by embedding programs (``medium loadtest``): a per-child log file,
and leaving SIGINT/SIGTERM to the embedding program."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from workers.supervisor import Child, Supervisor


async def test_child_output_goes_to_its_log_and_signals_stay_ours(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    child = Child("echo", [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
                  restart=False, log=log)
    sup = Supervisor([child], handle_signals=False)
    code = await asyncio.wait_for(sup.run(), timeout=30)
    assert code == 0
    assert child.history == [0]
    assert sorted(log.read_text().split()) == ["err", "out"]
    loop = asyncio.get_running_loop()
    assert loop.remove_signal_handler(signal.SIGTERM) is False  # none was installed
    assert loop.remove_signal_handler(signal.SIGINT) is False
