"""Per-stage CPU accounting (synthesis/stages.py) on an injected clock: stages nest and are
exclusive, and nothing is counted unless a benchmark measures."""

from __future__ import annotations

from synthesis import stages


class Ticks:
    """A clock that the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nested_stages_are_exclusive() -> None:
    t = Ticks()
    with stages.measuring(clock=t) as s:
        with stages.stage("apply"):
            t.now += 2.0
            with stages.stage("route"):
                t.now += 0.5
            t.now += 1.0
        with stages.stage("parse"):
            t.now += 0.25
    assert s.cpu == {"apply": 3.0, "route": 0.5, "parse": 0.25}
    assert s.count == {"apply": 1, "route": 1, "parse": 1}
    per = s.per_call_ms(2)
    assert list(per)[:7] == list(stages.ORDER)
    assert per["apply"] == 1500.0
    assert per["claim"] == 0.0


def test_time_outside_any_stage_is_not_charged() -> None:
    t = Ticks()
    with stages.measuring(clock=t) as s:
        t.now += 9.0
        with stages.stage("gather"):
            t.now += 1.0
        t.now += 9.0
    assert s.cpu == {"gather": 1.0}


def test_without_measuring_a_stage_records_nothing() -> None:
    t = Ticks()
    with stages.measuring(clock=t) as s:
        pass
    with stages.stage("gather"):
        t.now += 1.0
    assert s.cpu == {}
