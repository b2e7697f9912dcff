"""The installed local model, through the real synthesis path: what `medium eval` measures,
held to the issue's bar (>= 95% of windows valid after repair, none failed silently, no leak)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthesis import scenario
from synthesis.settings import Settings
from workers.commands import evaluate

pytestmark = pytest.mark.realmodel


async def test_the_local_narrator_narrates_mos_eisley(db_url: str) -> None:
    doc = await evaluate.evaluate(db_url, Settings(), Path(scenario.MOS_EISLEY), rounds=1, spec="local")
    assert doc["narrator"].startswith("local:")
    assert doc["windows"] + doc["failed"] >= 5
    assert doc["windows"] >= 0.95 * (doc["windows"] + doc["failed"])
    assert doc["leaks"] == 0, doc["leak_details"]
    for texts in doc["samples"].values():
        assert all("you" in t.lower() for t in texts)
