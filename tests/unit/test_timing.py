from __future__ import annotations

import pytest

from synthesis import timing
from synthesis.clock import FakeClock


@pytest.mark.parametrize(("pscale", "seconds"), [(-3, 4), (-2, 5), (-1, 15), (0, 60), (1, 300), (2, 900)])
def test_default_windows(pscale: int, seconds: float) -> None:
    assert timing.window_seconds(pscale) == seconds


def test_frame_override_and_time_scale() -> None:
    assert timing.window_seconds(-2, overrides={"-2": 8}) == 8
    assert timing.window_seconds(-2, overrides={-2: 8}, time_scale=0.5) == 4
    assert timing.window_seconds(-1, overrides={"-2": 8}, time_scale=0.1) == pytest.approx(1.5)


def test_sleep_for_never_exceeds_poll_and_never_negative() -> None:
    assert timing.sleep_for(100.0, None, poll_interval=2.0) == 2.0
    assert timing.sleep_for(100.0, 100.25, poll_interval=2.0) == pytest.approx(0.25)
    assert timing.sleep_for(100.0, 99.0, poll_interval=2.0) == 0.0
    assert timing.sleep_for(100.0, 500.0, poll_interval=2.0) == 2.0


def test_retry_backoff_doubles_and_caps() -> None:
    assert [timing.retry_backoff(a, base=1.0, cap=5.0) for a in (1, 2, 3, 4)] == [1, 2, 4, 5]


def test_game_clock_format() -> None:
    assert timing.format_game_clock(0) == "day 1, 00:00:00"
    assert timing.format_game_clock(86400 + 3661) == "day 2, 01:01:01"


async def test_fake_clock_sleep_only_advances_time() -> None:
    clock = FakeClock()
    start = clock.now()
    await clock.sleep(3600)
    assert (clock.now() - start).total_seconds() == 3600
