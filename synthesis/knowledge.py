"""The knowledge boundary (DESIGN §4): the ONLY place that decides what one character may know.

A viewer knows:
  * its own universal, external and internal;
  * its affiliations' universal, external and internal (hidden membership or not);
  * for other characters, their universal and external, and their PUBLIC memberships;
  * for an affiliation it is not in, universal and external only, and only if it reaches the
    viewer through some public membership.
It never knows another character's internal, another character's hidden membership, or any
trace of an affiliation that reaches it only through hidden memberships.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from synthesis.types import (
    Affiliation,
    Character,
    GroupView,
    Knowledge,
    Membership,
    PersonView,
)


def known_affiliations(viewer_ids: Iterable[UUID], memberships: Iterable[Membership]) -> set[UUID]:
    """The affiliations the characters ``viewer_ids`` may know exist: those one of them is a
    member of (hidden or not) and those with a public member. A group whose only members are
    hidden is unknown to everyone else: its existence is the secret. The prompts and the API's
    views use this; RLS applies the same rule (``medium_affiliation_known``)."""
    viewers = set(viewer_ids)
    return {m.affiliation_id for m in memberships if m.character_id in viewers or not m.hidden}


def build_knowledge(viewer_id: UUID, characters: Iterable[Character],
                    affiliations: Iterable[Affiliation], memberships: Iterable[Membership]
                    ) -> Knowledge:
    chars = {c.id: c for c in characters}
    affs = {a.id: a for a in affiliations}
    members = list(memberships)
    if viewer_id not in chars:
        raise KeyError(f"character {viewer_id} is not in this frame")
    me = chars[viewer_id]

    mine = {m.affiliation_id: m for m in members if m.character_id == viewer_id}
    public_by_char: dict[UUID, list[UUID]] = {}
    for m in members:
        if m.character_id != viewer_id and not m.hidden:
            public_by_char.setdefault(m.character_id, []).append(m.affiliation_id)
    visible_affs = known_affiliations({viewer_id}, members)

    me_view = PersonView(
        handle=me.handle, name=me.name, universal=me.universal, external=me.external,
        internal=me.internal, is_player=me.user_id is not None,
        affiliations=sorted(affs[a].name for a in mine if a in affs),
    )
    others = [
        PersonView(
            handle=c.handle, name=c.name, universal=c.universal, external=c.external,
            internal=None, is_player=c.user_id is not None,
            affiliations=sorted(affs[a].name for a in public_by_char.get(c.id, []) if a in affs),
        )
        for c in chars.values() if c.id != viewer_id
    ]
    groups = []
    for aid in sorted(visible_affs, key=lambda a: affs[a].name if a in affs else ""):
        if aid not in affs:
            continue
        a = affs[aid]
        membership = mine.get(aid)
        groups.append(GroupView(
            name=a.name, universal=a.universal, external=a.external,
            internal=a.internal if membership else None,
            member=membership is not None, hidden=bool(membership and membership.hidden),
        ))
    return Knowledge(me=me_view, others=others, groups=groups)


def public_knowledge(characters: Iterable[Character], affiliations: Iterable[Affiliation],
                     memberships: Iterable[Membership], *, narrator_for: Character) -> Knowledge:
    """What everyone present knows (shared mode: one narrative for all participants). No
    internal truth of anyone, no hidden membership."""
    chars = list(characters)
    affs = {a.id: a for a in affiliations}
    public = [m for m in memberships if not m.hidden]
    by_char: dict[UUID, list[str]] = {}
    for m in public:
        if m.affiliation_id in affs:
            by_char.setdefault(m.character_id, []).append(affs[m.affiliation_id].name)

    def view(c: Character) -> PersonView:
        return PersonView(handle=c.handle, name=c.name, universal=c.universal,
                          external=c.external, is_player=c.user_id is not None,
                          affiliations=sorted(by_char.get(c.id, [])))

    reached = {m.affiliation_id for m in public}
    groups = [GroupView(name=affs[a].name, universal=affs[a].universal, external=affs[a].external)
              for a in sorted(reached, key=lambda a: affs[a].name) if a in affs]
    return Knowledge(me=view(narrator_for), others=[view(c) for c in chars if c.id != narrator_for.id],
                     groups=groups)


def may_know_lore(visibility: str, viewer_id: UUID, affiliations: Iterable[Affiliation],
                  memberships: Iterable[Membership], *, shared: bool = False) -> bool:
    """Whether one lorebook entry may reach ``viewer_id``'s prompt (issue 16, the lorebook):

    * ``public``: every character;
    * ``affiliation:<name>``: the members of that affiliation, hidden members included (they
      are members), and no one else;
    * ``character:<id>``: that character only;
    * ``gm``: no character, ever.

    A shared narration (one narrative for everyone present) gets public entries only.
    Anything else (a malformed visibility, an affiliation that no longer exists) is unknown."""
    if visibility == "public":
        return True
    if shared:
        return False
    kind, _, arg = visibility.partition(":")
    if kind == "character":
        return arg == str(viewer_id)
    if kind == "affiliation":
        ids = {a.id for a in affiliations if a.name == arg}
        return any(m.character_id == viewer_id and m.affiliation_id in ids for m in memberships)
    return False
