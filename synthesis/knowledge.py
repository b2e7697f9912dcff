"""The knowledge boundary (DESIGN §4): the ONLY place that decides what one character may know.

A viewer knows:
  * its own universal, external and internal;
  * its affiliations' universal, external and internal (hidden membership or not);
  * for other characters, their universal and external, and their PUBLIC memberships;
  * for an affiliation it is not in, universal and external only, and only if it reaches the
    viewer through some public membership.
It never knows another character's internal, another character's hidden membership, or any
trace of an affiliation that reaches it only through hidden memberships.

The GM may override one character's knowledge (``KnowledgeOverride``): add a fact, or redact a
fact it would otherwise know. ``epistemic`` walks all of this once, recording each fact as known
(with its source) or withheld (with its reason); ``build_knowledge`` is that walk's result, so
the GM's epistemic view and the prompt cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from synthesis.types import Affiliation, Character, GroupView, Knowledge, Membership, PersonView
from synthesis.types_epistemic import Epistemic, Fact, KnowledgeOverride, Withheld


def known_affiliations(viewer_ids: Iterable[UUID], memberships: Iterable[Membership]) -> set[UUID]:
    """The affiliations the characters ``viewer_ids`` may know exist: those one of them is a
    member of (hidden or not) and those with a public member. A group whose only members are
    hidden is unknown to everyone else: its existence is the secret. The prompts and the API's
    views use this; RLS applies the same rule (``medium_affiliation_known``)."""
    viewers = set(viewer_ids)
    return {m.affiliation_id for m in memberships if m.character_id in viewers or not m.hidden}


class _Walk:
    """Records every fact the walk meets: known (with its source) or withheld (with why). A fact
    the GM redacts is withheld, and reads as empty where the prompt would have shown it."""

    def __init__(self, redacted: dict[str, UUID]) -> None:
        self.redacted = redacted
        self.known: list[Fact] = []
        self.withheld: list[Withheld] = []

    def know(self, fid: str, layer: str, about: str, text: str, source: str) -> str:
        if not text:
            return ""
        if fid in self.redacted:
            self.withheld.append(Withheld(id=fid, fact=text, layer=layer, about=about,
                                          reason="redacted", override_id=self.redacted[fid]))
            return ""
        self.known.append(Fact(id=fid, fact=text, layer=layer, about=about, source=source))
        return text

    def withhold(self, fid: str, layer: str, about: str, text: str, reason: str) -> None:
        self.withheld.append(Withheld(id=fid, fact=text, layer=layer, about=about, reason=reason))


def fact_id(kind: str, subject: UUID, layer: str) -> str:
    """A fact's stable name: ``character:<id>:<layer>``, ``affiliation:<id>:<layer>`` or
    ``membership:<character id>:<affiliation id>``. Overrides redact facts by it."""
    return f"{kind}:{subject}:{layer}"


def epistemic(viewer_id: UUID, characters: Iterable[Character], affiliations: Iterable[Affiliation],
              memberships: Iterable[Membership],
              overrides: Iterable[KnowledgeOverride] = ()) -> Epistemic:
    """What ``viewer_id`` knows (each fact with its source), what is withheld from it and why,
    and the ``Knowledge`` its prompts get: one walk, so the GM's view and the prompt agree.
    ``overrides`` are the GM's for this character (others' are ignored): ``add`` a fact,
    ``redact`` a known one by its ``fact_id``."""
    chars = {c.id: c for c in characters}
    affs = {a.id: a for a in affiliations}
    members = list(memberships)
    if viewer_id not in chars:
        raise KeyError(f"character {viewer_id} is not in this frame")
    me = chars[viewer_id]
    mine_ov = [o for o in overrides if o.character_id == viewer_id]
    walk = _Walk({o.fact_id: o.id for o in mine_ov if o.kind == "redact" and o.fact_id})

    mine = {m.affiliation_id: m for m in members if m.character_id == viewer_id}
    public_by_char: dict[UUID, list[UUID]] = {}
    for m in members:
        if m.character_id == viewer_id or m.affiliation_id not in affs:
            continue
        if m.hidden:
            walk.withhold(_membership(m), "membership", _name(chars, m.character_id),
                          f"{_name(chars, m.character_id)}'s membership in {affs[m.affiliation_id].name}",
                          "hidden")
        else:
            public_by_char.setdefault(m.character_id, []).append(m.affiliation_id)

    def person(c: Character, source: str) -> PersonView:
        own = c.id == viewer_id
        layer = {lay: walk.know(fact_id("character", c.id, lay), lay, c.name, getattr(c, lay), source)
                 for lay in ("universal", "external")}
        if own:
            internal: str | None = walk.know(fact_id("character", c.id, "internal"), "internal",
                                             c.name, c.internal, "own")
        else:
            internal = None
            if c.internal:
                walk.withhold(fact_id("character", c.id, "internal"), "internal", c.name,
                              c.internal, "private")
        groups = list(mine) if own else public_by_char.get(c.id, [])
        names = sorted(affs[a].name for a in groups if a in affs and walk.know(
            fact_id("membership", c.id, str(a)), "membership", c.name,
            f"{c.name} is a member of {affs[a].name}"
            + (" (secretly)" if own and mine[a].hidden else ""), source))
        return PersonView(handle=c.handle, name=c.name, internal=internal, affiliations=names,
                          is_player=c.user_id is not None, **layer)

    me_view = person(me, "own")
    others = [person(c, "public") for c in chars.values() if c.id != viewer_id]
    # A redacted membership is one the viewer does not know of: not its own group any more, and
    # no way for a group to reach it.
    unredacted = [m for m in members if _membership(m) not in walk.redacted]
    groups = _groups(walk, viewer_id, affs, members, unredacted)
    added = [o for o in mine_ov if o.kind == "add" and o.text.strip()]
    for o in added:
        walk.known.append(Fact(id=f"override:{o.id}", fact=o.text, layer="gm", about=me.name,
                               source="gm_override", override_id=o.id))
    know = Knowledge(me=me_view, others=others, groups=groups, gm_facts=[o.text for o in added])
    return Epistemic(known=walk.known, withheld=walk.withheld, knowledge=know)


def _groups(walk: _Walk, viewer_id: UUID, affs: dict[UUID, Affiliation], members: list[Membership],
            unredacted: list[Membership]) -> list[GroupView]:
    mine = {m.affiliation_id: m for m in unredacted if m.character_id == viewer_id}
    visible = known_affiliations({viewer_id}, unredacted)
    reachable = known_affiliations({viewer_id}, members)  # before the GM's redactions
    mine_before = {m.affiliation_id for m in members if m.character_id == viewer_id}
    groups = []
    for aid in sorted(affs, key=lambda a: affs[a].name):
        a = affs[aid]
        membership = mine.get(aid)
        if aid not in visible:
            why = "redacted" if aid in reachable else "hidden"
            for lay in ("universal", "external", "internal"):
                if getattr(a, lay):
                    walk.withhold(fact_id("affiliation", aid, lay), lay, a.name, getattr(a, lay), why)
            continue
        source = f"affiliation:{a.name}" if membership else "public"
        layer = {lay: walk.know(fact_id("affiliation", aid, lay), lay, a.name, getattr(a, lay), source)
                 for lay in ("universal", "external")}
        internal = None
        if membership:
            internal = walk.know(fact_id("affiliation", aid, "internal"), "internal", a.name,
                                 a.internal, source)
        elif a.internal:
            walk.withhold(fact_id("affiliation", aid, "internal"), "internal", a.name, a.internal,
                          "redacted" if aid in mine_before else "not_member")
        groups.append(GroupView(name=a.name, internal=internal, member=membership is not None,
                                hidden=bool(membership and membership.hidden), **layer))
    return groups


def _membership(m: Membership) -> str:
    return fact_id("membership", m.character_id, str(m.affiliation_id))


def _name(chars: dict[UUID, Character], cid: UUID) -> str:
    return chars[cid].name if cid in chars else "unknown"


def build_knowledge(viewer_id: UUID, characters: Iterable[Character],
                    affiliations: Iterable[Affiliation], memberships: Iterable[Membership],
                    overrides: Iterable[KnowledgeOverride] = ()) -> Knowledge:
    """Exactly what ``viewer_id`` may know, as its prompt shows it (``epistemic``'s walk)."""
    return epistemic(viewer_id, characters, affiliations, memberships, overrides).knowledge


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
