"""The lorebook (issue 16, item 4): entries ``{title, text, keywords[], visibility, always}``.

Pure. ``check`` validates an entry (the API and scenario files share it); ``select`` picks the
entries one Medium's prompt carries: those its character may know (``knowledge.may_know_lore``,
the boundary) AND that are triggered: a keyword names a word of the current action, or of the
recent context (resolved outcomes, the other actions in view, the character's recent
narratives, an interrupt's reason), or the entry is ``always``. Keywords match whole words,
case-insensitively (``spice`` matches "Spice" and "the spice run", not "spiced").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal
from uuid import UUID

from synthesis import errors, knowledge
from synthesis.types import Affiliation, LoreEntry, Membership

TITLE_MAX = 200
TEXT_MAX = 4000
KEYWORDS_MAX = 32
KEYWORD_MAX = 64
VISIBILITY_HELP = "public, gm, affiliation:<name> or character:<id>"
Trigger = Literal["action", "context", "always"]
RANK: dict[Trigger, int] = {"action": 0, "context": 1, "always": 2}


def check_visibility(visibility: Any, *, affiliations: Iterable[str], characters: dict[str, UUID],
                     field: str = "visibility") -> str:
    """The canonical visibility, or ``InvalidInput`` naming ``field``. ``characters`` maps the
    names a scenario file may use (and every id, as text) to the character's id."""
    if not isinstance(visibility, str) or not visibility.strip():
        raise errors.InvalidInput(f"visibility must be one of {VISIBILITY_HELP}", field=field)
    v = visibility.strip()
    if v in ("public", "gm"):
        return v
    kind, sep, arg = v.partition(":")
    arg = arg.strip()
    if sep and kind == "affiliation" and arg:
        if arg not in set(affiliations):
            raise errors.InvalidInput(f"no affiliation named {arg!r} in this frame", field=field)
        return f"affiliation:{arg}"
    if sep and kind == "character" and arg:
        cid = characters.get(arg)
        if cid is None:
            raise errors.InvalidInput(f"no character {arg!r} in this frame", field=field)
        return f"character:{cid}"
    raise errors.InvalidInput(f"visibility must be one of {VISIBILITY_HELP}, got {v[:80]!r}", field=field)


def check_keywords(keywords: Any, *, field: str = "keywords") -> list[str]:
    if keywords is None:
        return []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise errors.InvalidInput("keywords must be a list of strings", field=field)
    words = list(dict.fromkeys(" ".join(k.split()) for k in keywords))
    if any(not k for k in words):
        raise errors.InvalidInput("a keyword is empty", field=field)
    if len(words) > KEYWORDS_MAX or any(len(k) > KEYWORD_MAX for k in words):
        raise errors.InvalidInput(f"at most {KEYWORDS_MAX} keywords of at most {KEYWORD_MAX} characters",
                                  field=field)
    return words


def check_text(value: Any, *, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidInput(f"{field.rsplit('.', 1)[-1]} is empty", field=field)
    if len(value) > limit:
        raise errors.InvalidInput(f"{field.rsplit('.', 1)[-1]} is longer than {limit} characters", field=field)
    return value.strip()


def check(raw: Any, *, affiliations: Iterable[str], characters: dict[str, UUID],
          where: str = "") -> dict[str, Any]:
    """One entry, validated: ``{title, text, keywords, visibility, always}``. ``where`` prefixes
    the field named in an error (``lore[2].visibility`` in a scenario file)."""
    if not isinstance(raw, dict):
        raise errors.InvalidInput("a lore entry is a mapping {title, text, keywords, visibility}",
                                  field=where.rstrip(".") or "body")
    known = {"title", "text", "keywords", "visibility", "always"}
    extra = sorted(set(raw) - known)
    if extra:
        raise errors.InvalidInput(f"unknown key {extra[0]!r}", field=f"{where}{extra[0]}")
    always = raw.get("always", False)
    if not isinstance(always, bool):
        raise errors.InvalidInput("always must be true or false", field=f"{where}always")
    return {
        "title": check_text(raw.get("title"), field=f"{where}title", limit=TITLE_MAX),
        "text": check_text(raw.get("text"), field=f"{where}text", limit=TEXT_MAX),
        "keywords": check_keywords(raw.get("keywords"), field=f"{where}keywords"),
        "visibility": check_visibility(raw.get("visibility", "public"), affiliations=affiliations,
                                       characters=characters, field=f"{where}visibility"),
        "always": always,
    }


def _matches(keyword: str, text: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)", text, re.IGNORECASE) is not None


def trigger(entry: LoreEntry, *, action: str, context: str) -> Trigger | None:
    """Why ``entry`` enters a prompt now, or None: the action names a keyword, else the recent
    context does, else it is ``always``."""
    if any(_matches(k, action) for k in entry.keywords):
        return "action"
    if any(_matches(k, context) for k in entry.keywords):
        return "context"
    return "always" if entry.always else None


def select(entries: Iterable[LoreEntry], viewer_id: UUID, affiliations: Sequence[Affiliation],
           memberships: Sequence[Membership], *, action: str, context: str,
           shared: bool = False) -> list[LoreEntry]:
    """The entries one prompt carries, best first (triggered by the action, then by the context,
    then ``always``; authoring order within each)."""
    picked: list[tuple[int, int, LoreEntry]] = []
    for i, e in enumerate(entries):
        if not knowledge.may_know_lore(e.visibility, viewer_id, affiliations, memberships, shared=shared):
            continue
        why = trigger(e, action=action, context=context)
        if why is not None:
            picked.append((RANK[why], i, e))
    return [e for _, _, e in sorted(picked, key=lambda x: (x[0], x[1]))]


def line(entry: LoreEntry) -> str:
    """An entry as a prompt line."""
    return f"{entry.title}: {' '.join(entry.text.split())}"
