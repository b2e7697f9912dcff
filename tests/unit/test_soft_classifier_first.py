"""Soft analysis asks the model only when the classifier is unsure (MEDIUM_SOFT_MODE=auto):
a rule-decided action costs no call and says so (source 'classifier'); 'model' always calls;
'classifier' never does."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from synthesis import soft
from synthesis.llm.base import Completion, Message, Usage
from synthesis.types import Character

FRAME = uuid.uuid4()
ME = Character(id=uuid.uuid4(), frame_id=FRAME, name="Alda", handle="alda")
CAST = [ME, Character(id=uuid.uuid4(), frame_id=FRAME, name="Brix", handle="brix")]


class CountingSoft:
    provider = "fake"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        self.calls += 1
        return Completion(text=json.dumps({"pscale": 0, "interruptive": False, "interrupt_targets": [],
                                           "refined_text": "considers it"}), usage=Usage(10, 5))


@pytest.mark.parametrize(("text", "pscale"), [
    ("I dive behind the bar", -3), ('I say "hold it right there"', -2), ("I search the drawers", -1),
    ("I haggle over the price for a while", 0), ("I wait here for an hour", 1),
])
def test_a_rule_decides_and_the_model_is_not_called(text: str, pscale: int) -> None:
    llm = CountingSoft()
    got = asyncio.run(soft.analyse(llm, text, ME, CAST))
    assert llm.calls == 0
    assert (got.source, got.pscale) == ("classifier", pscale)
    assert got.note == "decided by a classifier rule"


def test_an_action_no_rule_decides_goes_to_the_model() -> None:
    llm = CountingSoft()
    got = asyncio.run(soft.analyse(llm, "Perhaps later, then", ME, CAST))
    assert llm.calls == 1
    assert (got.source, got.pscale) == ("llm", 0)
    assert soft.judge("Perhaps later, then") == (-1, False)


def test_mode_model_always_calls_and_mode_classifier_never_does() -> None:
    llm = CountingSoft()
    assert asyncio.run(soft.analyse(llm, "I dive behind the bar", ME, CAST, mode="model")).source == "llm"
    assert llm.calls == 1
    got = asyncio.run(soft.analyse(llm, "Perhaps later, then", ME, CAST, mode="classifier"))
    assert llm.calls == 1
    assert (got.source, got.note) == ("classifier", "classifier only")


def test_targets_and_interruptions_are_still_read_by_the_classifier() -> None:
    got = asyncio.run(soft.analyse(CountingSoft(), "I punch Brix", ME, CAST))
    assert got.source == "classifier"
    assert got.interruptive
    assert got.interrupt_targets == [CAST[1].id]
