"""Scenario files may carry ``lore:`` entries and ``rules:``, validated like the API's, with
errors naming the entry and the field; the shipped Mos Eisley file carries a few."""

from __future__ import annotations

from typing import Any

import pytest

from synthesis import scenario
from synthesis.errors import ScenarioError


def spec(**extra: Any) -> dict[str, Any]:
    return {"name": "S", "affiliations": [{"name": "Cell"}],
            "characters": [{"name": "Alda", "player": "a"}, {"name": "Brix"}], **extra}


def test_the_shipped_scenario_carries_lore_of_every_visibility() -> None:
    sc = scenario.load_scenario_file(scenario.MOS_EISLEY)
    kinds = {str(e["visibility"]).split(":")[0] for e in sc.lore}
    assert kinds == {"public", "affiliation", "character", "gm"}


def test_good_lore_and_rules_parse() -> None:
    sc = scenario.parse_scenario(spec(lore=[{"title": "T", "text": "x", "visibility": "character:Alda"},
                                            {"title": "U", "text": "y", "visibility": "affiliation:Cell",
                                             "keywords": ["k"], "always": True}],
                                      rules={"interrupt_policy": "off", "prompt_budget": 2000}))
    assert len(sc.lore) == 2


@pytest.mark.parametrize(("extra", "field"), [
    ({"lore": [{"title": "T", "text": "x", "visibility": "character:Nobody"}]}, "lore[0].visibility"),
    ({"lore": [{"title": "T", "text": "x"}, {"title": "T", "text": "x", "visibility": "affiliation:Guild"}]},
     "lore[1].visibility"),
    ({"lore": [{"text": "x"}]}, "lore[0].title"),
    ({"lore": ["just text"]}, "lore[0]"),
    ({"lore": [{"title": "T", "text": "x", "keywords": [1]}]}, "lore[0].keywords"),
    ({"rules": {"prompt_budget": 10}}, "rules.prompt_budget"),
    ({"rules": {"pscale_windows": {"-2": 5}}}, "rules.pscale_windows"),
])
def test_bad_lore_or_rules_are_refused_naming_the_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError) as e:
        scenario.parse_scenario(spec(**extra))
    assert e.value.field == field
