"""`medium eval` on the scripted narrator, through the real synthesis path on a real database:
the report carries `first_token_ms` {p50, p99}, timed from each window's due time to the first
narrative chunk its synthesis streamed."""

from __future__ import annotations

from pathlib import Path

from synthesis import scenario
from synthesis.settings import Settings
from workers.commands import evaluate


async def test_eval_reports_the_time_to_the_first_streamed_token(db_url: str) -> None:
    settings = Settings(MEDIUM_LLM_LATENCY="fixed:100ms")
    doc = await evaluate.evaluate(db_url, settings, Path(scenario.MOS_EISLEY), rounds=1, spec="scripted")
    assert doc["windows"] > 0
    assert doc["failed"] == 0
    assert (doc["redacted"], doc["outcomes_redacted"]) == (0, 0)  # the scripted narrator never leaks
    assert set(doc["first_token_ms"]) == {"p50", "p99"}
    assert 0 < doc["first_token_ms"]["p50"] <= doc["first_token_ms"]["p99"]
    assert doc["streamed_windows"] == doc["windows"]  # the text layout streams every narrative
    print(f"scripted narrator at 100 ms: first_token_ms {doc['first_token_ms']}, "
          f"latency_ms {doc['latency_ms']}")
