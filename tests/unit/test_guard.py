"""The output guard on real sentences: the Mos Eisley scenario, through the real knowledge
boundary. Each table row is (viewer, shared text, expected kind or None). True hits copy or
paraphrase a secret; near misses are ordinary public actions that share words with one and
must NOT trigger (the thresholds in ``synthesis.guard`` were tuned on exactly these)."""

from __future__ import annotations

import pytest

from synthesis import guard
from synthesis.types import ActionOutcome, Interrupt, ResolvedAction
from tests.hostile import mos_eisley_input

ACTIONS = {
    "Kessa Vorn": "I slide into the corner booth with my back to the wall and watch the door",
    "Dax Orrun": "I tell her calmly: 'There is a contract on you. Come quietly and nobody gets hurt.'",
    "Gorrak": "I polish glasses and listen to the booth in the corner",
    "Sergeant Vell": "I question the bartender about any pilots who came in today",
    "Tobin Reez": "I sit at the end of the bar, adjust my red scarf and try not to stare at anyone",
}

HITS = [
    ("Kessa Vorn", "Kessa has the stolen patrol codes", "private"),
    ("Kessa Vorn", "A data chip is hidden in Kessa's boot", "private"),
    ("Kessa Vorn", "KESSA CARRIES STOLEN IMPERIAL PATROL CODES, in a data-chip, in her left boot!", "private"),
    ("Kessa Vorn", "Kessa owes 4000 credits to a Hutt", "private"),
    ("Kessa Vorn", "Kessa is secretly a member of the Rebel Cell", "membership"),
    ("Kessa Vorn", "Kessa is one of the rebels", "membership"),
    ("Kessa Vorn", "The contact wears a red scarf", "group"),
    ("Kessa Vorn", "The contact will sit at the end of the bar", "group"),
    ("Kessa Vorn", "Is the Dune Sea calm tonight?", "group"),
    ("Dax Orrun", "Dax is hunting Kessa for 5,000 credits", "private"),
    ("Dax Orrun", "A Hutt posted the contract on Kessa Vorn", "group"),
    ("Dax Orrun", "Dax would rather take her quietly than start a fight", "private"),
    ("Gorrak", "Gorrak sells information to the garrison sergeant", "private"),
    ("Gorrak", "Gorrak hates trouble that breaks furniture", "private"),
    ("Sergeant Vell", "Vell is looking for a freighter captain who stole patrol codes", "private"),
    ("Sergeant Vell", "Patrol codes were stolen from the garrison last night", "group"),
    ("Tobin Reez", "Tobin is the rebel contact", "membership"),
    ("Tobin Reez", "Tobin has strange flashes of what people are about to do", "private"),
    ("Tobin Reez", "Tobin waits for someone to ask whether the Dune Sea is calm tonight", "group"),
]

NEAR_MISSES = [
    ("Kessa Vorn", "Kessa slides into the corner booth with her back to the wall"),
    ("Kessa Vorn", "Kessa walks to the end of the bar"),
    ("Kessa Vorn", "Kessa, the freighter captain, hurries to the bar"),
    ("Kessa Vorn", "Kessa checks her boot and the data pad on the bar"),
    ("Kessa Vorn", "Sergeant Vell's Imperial patrol enters the cantina"),
    ("Kessa Vorn", "Kessa pays for her drink with a few credits"),
    ("Kessa Vorn", "A power cell sparks behind the bar"),
    ("Dax Orrun", "Dax tells Kessa Vorn there is a contract on her"),
    ("Dax Orrun", "Dax, a Guild bounty hunter, sits opposite Kessa"),
    ("Gorrak", "Gorrak polishes glasses and listens to the corner booth"),
    ("Gorrak", "Gorrak nods to the Imperial troopers"),
    ("Sergeant Vell", "Vell asks Gorrak about pilots who came in today"),
    ("Sergeant Vell", "Vell is a sergeant of the Imperial Garrison"),
    ("Tobin Reez", "Tobin sits at the end of the bar and adjusts his red scarf"),
]


@pytest.mark.parametrize(("viewer", "text", "kind"), HITS)
def test_true_hits(viewer: str, text: str, kind: str) -> None:
    g = guard.build(mos_eisley_input(viewer, ACTIONS[viewer]))
    assert guard.scan(text, g) == kind


@pytest.mark.parametrize(("viewer", "text"), NEAR_MISSES)
def test_near_misses_do_not_trigger(viewer: str, text: str) -> None:
    g = guard.build(mos_eisley_input(viewer, ACTIONS[viewer]))
    assert guard.scan(text, g) is None


def test_what_the_player_said_is_public() -> None:
    """Kessa's player typed the code phrase into her own action: repeating her dialogue in
    the outcome is not a leak. Without that action the same fact is one."""
    said = "I walk to the end of the bar and say: 'Is the Dune Sea calm tonight?'"
    fact = "Kessa asks, 'Is the Dune Sea calm tonight?'"
    assert guard.scan(fact, guard.build(mos_eisley_input("Kessa Vorn", said))) is None
    assert guard.scan(fact, guard.build(mos_eisley_input("Kessa Vorn", ACTIONS["Kessa Vorn"]))) == "group"


def test_other_characters_secrets_are_not_this_guards_business() -> None:
    """A Medium is checked against what IT knows: Kessa's Medium never saw Dax's contract."""
    g = guard.build(mos_eisley_input("Kessa Vorn", ACTIONS["Kessa Vorn"]))
    assert guard.scan("Gorrak sells information to the garrison sergeant", g) is None


def test_hidden_membership_of_a_publicly_known_group() -> None:
    """Vell's public membership makes the Imperial Garrison visible to everyone, so naming it
    is fine; tying Gorrak to it with a membership word reveals his hidden membership."""
    g = guard.build(mos_eisley_input("Gorrak", ACTIONS["Gorrak"],
                                     join={"Gorrak": [("Imperial Garrison", True)]}))
    assert guard.scan("Gorrak is secretly an informant for the Imperial Garrison", g) == "membership"
    assert guard.scan("Gorrak is a member of the Imperial Garrison", g) == "membership"
    assert guard.scan("Troopers of the Imperial Garrison stand at the door", g) is None
    assert guard.scan("Gorrak nods to the Imperial Garrison troopers", g) is None


def test_hidden_name_is_a_hit_anywhere_when_nothing_public_names_it() -> None:
    g = guard.build(mos_eisley_input("Tobin Reez", ACTIONS["Tobin Reez"]))
    assert guard.scan("A Rebel Cell leaflet lies on the floor", g) == "membership"


def test_shared_mode_has_no_private_layer_to_guard() -> None:
    inp = mos_eisley_input("Kessa Vorn", ACTIONS["Kessa Vorn"]).model_copy(update={"mode": "shared"})
    assert not guard.build(inp).secrets


def test_check_and_redact_every_shared_place() -> None:
    inp = mos_eisley_input("Kessa Vorn", ACTIONS["Kessa Vorn"])
    dax = inp.handles["dax_orrun"]
    out = ActionOutcome(
        actions_resolved=[ResolvedAction(character_id=inp.character_id, result="success",
                                         action="Kessa checks the patrol codes in her left boot")],
        world_facts=["the band keeps playing", "Kessa owes a Hutt 4,000 credits"],
        interrupts=[Interrupt(target_character_id=dax, reason="Kessa, a Rebel Cell agent, bolts")])
    g = guard.build(inp)
    found = guard.check(out, g, inp.character_id)
    assert [f.where for f in found] == ["actions_resolved[0].action", "world_facts[1]", "interrupts[0].reason"]
    assert all("codes" not in f.describe() and "Hutt" not in f.describe() for f in found)
    clean = guard.redact(out, found, inp)
    assert clean.world_facts == ["the band keeps playing"]
    assert clean.actions_resolved[0].action == ACTIONS["Kessa Vorn"]
    assert clean.interrupts[0].target_character_id == dax
    assert clean.interrupts[0].reason == ""
    assert guard.check(clean, g, inp.character_id) == []


def test_normalisation() -> None:
    assert guard.tokens("Kessa's 4,000 CREDITS—carried!") == ["kessa", "4000", "credit", "carry"]
