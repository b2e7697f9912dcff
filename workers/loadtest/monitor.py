"""Once a second: what the database says about the run (for the live display and the plot)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from synthesis.store_ops import OpsStore


@dataclass
class Sample:
    t: float  # seconds since the run started
    values: dict[str, Any]
    clients: int


@dataclass
class Monitor:
    frame_ids: list[str]
    started: float
    duration: float
    samples: list[Sample] = field(default_factory=list)
    phase: str = "starting"
    clients: int = 0
    players: int = 0
    kills: int = 0
    restarts: int = 0
    db_errors: int = 0

    async def poll(self, st: OpsStore, clients: int) -> Sample | None:
        self.clients = clients
        try:
            progress = await st.run_progress(self.frame_ids)
        except Exception:  # the display must not stop the run
            self.db_errors += 1
            return None
        s = Sample(time.time() - self.started, progress.model_dump(), clients)
        self.samples.append(s)
        return s

    @property
    def last(self) -> dict[str, Any]:
        return self.samples[-1].values if self.samples else {}

    def render(self) -> Any:
        elapsed = time.time() - self.started
        v = self.last
        p99 = v.get("p99")
        t = Table.grid(padding=(0, 2))
        for _ in range(4):
            t.add_column()
        t.add_row("elapsed", f"{elapsed:6.1f} s / {self.duration:.0f} s", "phase", self.phase)
        t.add_row("actions committed", str(v.get("committed", "-")), "resolved", str(v.get("resolved", "-")))
        t.add_row("windows open", str(v.get("open", "-")), "claimed", str(v.get("claimed", "-")))
        t.add_row("windows done", str(v.get("done", "-")), "failed", str(v.get("failed", "-")))
        t.add_row("narratives", str(v.get("narratives", "-")),
                  "p99 lateness", "-" if p99 is None else f"{float(p99):.1f} ms")
        t.add_row("live clients", f"{self.clients}/{self.players}", "worker kills / restarts",
                  f"{self.kills} / {self.restarts}")
        return Group(Text("medium loadtest", style="bold"), t)
