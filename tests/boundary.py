"""The knowledge boundary (DESIGN §4) as assertions over a compiled directive's text.

Shared by the hypothesis property test (unit, synthetic frames) and the database variant
(integration, frames installed through the store). Every truth text passed in must be a unique
marker, so that a substring check means exactly "this fact reached the prompt".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from uuid import UUID

from synthesis.compile import brief
from synthesis.types import Affiliation, Character, Membership


def _lines_about(directive: str, who: Character) -> list[str]:
    return [line for line in directive.splitlines() if f"[{who.handle}]" in line or who.name in line]


def assert_boundary(directive: str, viewer_id: UUID, characters: Sequence[Character],
                    affiliations: Sequence[Affiliation], memberships: Iterable[Membership], *,
                    solids: Mapping[UUID, Sequence[str]] | None = None, shared: bool = False,
                    label: str = "") -> None:
    """Assert what ``viewer_id``'s directive may and may not contain.

    Never: another character's internal; the internal of an affiliation the viewer is not in;
    another character's hidden membership (the affiliation's name on any line about them);
    anything (name, universal, external, internal) of an affiliation that reaches the viewer
    only through other characters' hidden memberships; another character's solid text.
    Always (personal mode): the viewer's own internal and every own affiliation's internal,
    hidden or not. Shared mode (one narrative for everyone): no internal of anyone at all.
    """
    members = list(memberships)
    me = next(c for c in characters if c.id == viewer_id)
    where = f"{label} directive of {me.name}"
    mine = {m.affiliation_id for m in members if m.character_id == viewer_id}
    affs = {a.id: a for a in affiliations}

    own_briefs = {brief(t) for t in (solids or {}).get(viewer_id, [])}
    for other in characters:
        if other.id == viewer_id:
            continue
        assert other.internal not in directive, f"{where} contains {other.name}'s internal"
        for text in (solids or {}).get(other.id, []):
            assert text not in directive, f"{where} contains {other.name}'s solid {text[:60]!r}"
            # a prompt shows a narrative in brief (compile.brief): not that either, unless the
            # viewer's own narrative reads the same (the scripted narrator's stock sentences)
            shown = brief(text)
            assert shown in own_briefs or shown not in directive, \
                f"{where} contains {other.name}'s solid in brief {text[:60]!r}"

    for a in affiliations:
        if a.id not in mine or shared:
            assert a.internal not in directive, f"{where} contains {a.name}'s internal (not a member)"

    # Shared mode narrates for everyone present, so even the viewer's own secrets stay out.
    private_to = None if shared else viewer_id
    for m in members:
        if m.character_id == private_to or not m.hidden:
            continue
        who = next(c for c in characters if c.id == m.character_id)
        name = affs[m.affiliation_id].name
        for line in _lines_about(directive, who):
            assert name not in line, f"{where} reveals {who.name}'s hidden membership of {name}: {line!r}"

    for a in affiliations:
        if a.id in mine and not shared:
            continue
        others = [m for m in members if m.affiliation_id == a.id and m.character_id != private_to]
        if others and all(m.hidden for m in others):
            for part, text in (("name", a.name), ("universal", a.universal),
                               ("external", a.external), ("internal", a.internal)):
                assert text not in directive, (
                    f"{where} contains the {part} of {a.name}, which reaches it only through "
                    "hidden memberships")

    if shared:
        assert me.internal not in directive, f"{where} (shared mode) contains {me.name}'s internal"
        return
    assert me.internal in directive, f"{where} lacks its own internal"
    for aid in mine:
        assert affs[aid].internal in directive, f"{where} lacks the internal of its own {affs[aid].name}"
