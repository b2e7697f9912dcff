"""Per-character memory (issue 16, item 1): a rolling summary of what one character lived
through, in its own perspective, built ONLY from what it witnessed: its own narratives and the
outcomes they incorporated (``memory_source``).

When its narratives since the last summary pass ``MEMORY_BUDGET_CHARS`` (``due``), a cheap
model (the soft role's) writes version n+1 from version n and those items (``summary_messages``).
Summaries are rows, versioned and append-only (``memory_summaries``); the GM reads them
(``GET /frames/{id}/memory``); the next prompts carry the latest (compile's YOUR MEMORY).

The knowledge boundary applies as to prompts, on the way out of the summarizer: ``boundary``
is a ``guard.Guard`` of what this character may NOT know: every other character's internal
truth, the internal truth of every group it is not in, and the name of any group it cannot
know exists (one whose only members are hidden, and it not among them). Its own secrets and
its groups' are allowed: the summary is its own. ``clean`` drops every sentence the guard flags
and counts them (``redacted``), so a leaky summarizer cannot carry a secret into memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from synthesis import guard, knowledge
from synthesis.llm.base import Message
from synthesis.types import Affiliation, Character, Membership

MEMORY_BUDGET_CHARS = 4000  # ~1,000 tokens of own narrative since the last summary
SUMMARY_MAX_CHARS = 2400
MARKER = "MEMORY SUMMARY"
TITLE = "YOUR MEMORY (your own summary of what you lived through; already told)"
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")


def due(pending_chars: int, *, budget: int = MEMORY_BUDGET_CHARS) -> bool:
    return pending_chars >= budget


def source_lines(src: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    """The items, oldest first: own narratives and witnessed outcomes, by seq."""
    items: list[tuple[int, str]] = []
    for s in src.get("solids", []):
        items.append((int(s["seq"]), f"(#{s['seq']}, you) {' '.join(str(s['narrative']).split())}"))
    for o in src.get("outcomes", []):
        acts = "; ".join(f"{names.get(str(a.get('character_id')), 'someone')} {a.get('action', '')} "
                         f"({a.get('result', '')})" for a in o.get("actions_resolved", []))
        facts = "; ".join(o.get("world_facts", []))
        told = f"the GM narrates: {' '.join(str(o['narration']).split())} " if o.get("narration") else ""
        items.append((int(o["seq"]), f"(#{o['seq']}, outcome) {told}{acts}" + (f" | facts: {facts}" if facts else "")))
    return [text for _, text in sorted(items)]


def summary_messages(name: str, previous: str, lines: list[str]) -> list[Message]:
    system = (f"You are the {MARKER} writer for {name}, one character in a shared roleplay scene. "
              "Write what this character remembers, in the second person (\"you\"), in plain prose.")
    user = "\n".join([
        "Merge YOUR MEMORY SO FAR and WHAT HAPPENED SINCE into one summary of at most 250 words.",
        "Keep names, places, objects, promises, debts and facts the character learned; drop moment-to-moment "
        "detail. Use only what is written below; invent nothing.", "",
        "YOUR MEMORY SO FAR", previous or "(none yet)", "",
        "WHAT HAPPENED SINCE (oldest first)", *lines, "",
        "Reply with the summary only."])
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def boundary(viewer_id: UUID, characters: Iterable[Character], affiliations: Iterable[Affiliation],
             memberships: Iterable[Membership], *, allowed: Iterable[str] = ()) -> guard.Guard:
    """What ``viewer_id`` may not know, as a guard (see the module doc). ``allowed``: texts it
    knows anyway (its own layers, what it witnessed), which never make a hit on their own."""
    chars, affs, members = list(characters), list(affiliations), list(memberships)
    mine = {m.affiliation_id for m in members if m.character_id == viewer_id}
    known = knowledge.known_affiliations({viewer_id}, members)
    me = next(c for c in chars if c.id == viewer_id)
    secrets: list[guard.Secret] = []

    def add(kind: guard.Kind, text: str) -> None:
        for sentence in _SENTENCE.split(text or ""):
            seq = guard.tokens(sentence)
            if len(guard.content(seq)) >= 2:
                secrets.append(guard.Secret(kind, tuple(seq), frozenset(guard.content(seq))))

    for c in chars:
        if c.id != viewer_id:
            add("private", c.internal)
    for a in affs:
        if a.id not in mine:
            add("group", a.internal)
    hidden = tuple(guard.HiddenGroup(name=tuple(guard.tokens(a.name)),
                                     distinctive=frozenset(guard.content(guard.tokens(a.name))
                                                           - guard.GENERIC_GROUP_WORDS),
                                     public=False)
                   for a in affs if a.id not in known)
    public_texts = [*allowed, me.name, me.universal, me.internal, me.external,
                    *(x for c in chars for x in (c.name, c.universal, c.external)),
                    *(x for a in affs if a.id in known for x in (a.name, a.universal, a.external)),
                    *(a.internal for a in affs if a.id in mine)]
    public = frozenset(s for t in public_texts for s in guard.content(guard.tokens(t)))
    owner = frozenset(guard.content(guard.tokens(me.name)) | {me.handle})
    return guard.Guard(tuple(secrets), hidden, public, owner)


def clean(text: str, g: guard.Guard) -> tuple[str, int]:
    """``text`` without the sentences that carry what the character may not know, and how many
    were dropped; capped at ``SUMMARY_MAX_CHARS``."""
    kept, dropped = [], 0
    for sentence in (s.strip() for s in _SENTENCE.split(text or "")):
        if not sentence:
            continue
        if guard.scan(sentence, g) is not None:
            dropped += 1
        else:
            kept.append(sentence)
    return " ".join(kept)[:SUMMARY_MAX_CHARS].strip(), dropped
