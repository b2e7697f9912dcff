"""`medium eval`'s figures: leak detection, divergence and percentiles (pure functions)."""

from __future__ import annotations

from synthesis import scenario
from workers.commands import eval_metrics as m

SC = scenario.load_scenario_file(scenario.MOS_EISLEY)
HANDLES = {c.name: c.name.lower().replace(" ", "_") for c in SC.characters}


def test_a_secret_in_a_narrative_is_a_leak_for_other_readers_only() -> None:
    kessa_secret = "the stolen Imperial patrol codes in a data chip in her left boot"
    readable = m.Readable(narratives={"Dax Orrun": [f"You notice she carries {kessa_secret}."],
                                      "Kessa Vorn": [f"You feel {kessa_secret}."]})
    leaks = m.find_leaks(SC, readable, HANDLES)
    assert [(x.reader, x.kind, x.whose) for x in leaks] == [("Dax Orrun", "internal", "Kessa Vorn")]


def test_an_outcome_is_read_by_everyone() -> None:
    readable = m.Readable(outcomes=["The sergeant has orders to recover them quietly, before the governor hears."])
    leaks = m.find_leaks(SC, readable, HANDLES)
    readers = {x.reader for x in leaks if x.kind == "affiliation_internal"}
    assert readers == {"Kessa Vorn", "Dax Orrun", "Tobin Reez", "Gorrak"}  # not Vell: he is a member


def test_a_hidden_membership_named_in_one_sentence_leaks() -> None:
    readable = m.Readable(outcomes=["Tobin Reez nods to the Rebel Cell's pilot."])
    kinds = {(x.reader, x.kind, x.whose) for x in m.find_leaks(SC, readable, HANDLES)}
    assert ("Dax Orrun", "hidden_membership", "Tobin Reez/Rebel Cell") in kinds
    assert not m.find_leaks(SC, m.Readable(outcomes=["Tobin sits. The Rebel Cell is a myth, they say."]),
                            HANDLES)


def test_what_a_player_typed_is_not_a_leak() -> None:
    said = "I sit at the end of the bar, adjust my red scarf and try not to stare at anyone"
    readable = m.Readable(outcomes=["sits at the end of the bar, adjusting a red scarf"], public=[said])
    assert m.find_leaks(SC, readable, HANDLES) == []
    assert m.find_leaks(SC, m.Readable(outcomes=["sits at the end of the bar, adjusting a red scarf"]), HANDLES)


def test_divergence_and_percentiles() -> None:
    groups = [[("a", "you draw"), ("b", "you draw"), ("a", "ignored: same character")], [("c", "x y")]]
    assert m.divergence(groups) == {"mean_similarity": 0.5, "pairs": 2}
    assert m.percentiles([]) == {"p50": 0.0, "p99": 0.0}
    assert m.percentiles([float(i) for i in range(1, 101)]) == {"p50": 50.0, "p99": 99.0}
