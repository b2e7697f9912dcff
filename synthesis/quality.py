"""What a real model must produce, not copy: checks on a Medium's output beyond its shape.

Measured on a 1.5B local model: half of what parsed was not a narration. Narratives and
action texts were the prompt's placeholder (`...`), one narrative repeated the character's
previous one word for word, the rest were in the third person, and one confused two
characters. Each check here refuses one of those with a `ParseError` whose message is one
line that the repair prompt quotes back to the model.

Pure functions of (text, `MediumInput`). `parse._validate` calls `check`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from synthesis.errors import ParseError
from synthesis.types import MediumInput

# Example values the prompt's OUTPUT FORMAT shows (compile.py): all in <angle brackets>.
_ANGLE = re.compile(r"^\s*<[^<>]*>\s*$")
# Nothing but dots, ellipses, dashes, underscores, asterisks, or whitespace.
_EMPTYISH = re.compile(r"^[\s.…\-_*~]*$")
_FILLER = frozenset({"string", "text", "todo", "tbd", "n/a", "none", "null", "narrative", "action",
                     "placeholder", "lorem ipsum", "your narrative", "the personal narrative"})
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|«[^»]*»")
_SECOND_PERSON = re.compile(r"\b(you|your|yours|yourself|you're|you've|you'll|you'd)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9']+")
REPEAT_SIMILARITY = 0.9  # token Jaccard at or above which a narrative repeats an earlier one


def placeholder(text: str) -> bool:
    """True for a value copied from a format example rather than written: `...`, `<...>`, filler."""
    stripped = text.strip()
    return (bool(_EMPTYISH.match(stripped)) or bool(_ANGLE.match(stripped))
            or stripped.strip(".!").lower() in _FILLER)


def jaccard(a: str, b: str) -> float:
    """Token Jaccard similarity of two texts (lower-cased words), 0..1; 1.0 for two empty texts."""
    left, right = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def _unquoted(text: str) -> str:
    """`text` without its quoted dialogue (what characters say may use any person)."""
    return _QUOTED.sub(" ", text)


def _names(full: str) -> list[str]:
    """A character's full name and its distinctive parts ("Sergeant Vell" -> also "Vell")."""
    parts = [p for p in re.split(r"\s+", full.strip()) if len(p) > 2]
    return [full.strip(), *(p for p in parts if p.lower() not in {"the", "sergeant", "captain"})]


def check(narrative: str, texts: Iterable[tuple[str, str]], inp: MediumInput) -> None:
    """Refuse output that is not a real narration (raises `ParseError`, one line).

    `texts` are the shared layer's free-text fields as (where, text), e.g.
    ("actions_resolved[0].action", "..."). Checks, in order: placeholders anywhere; in
    personal mode, a narrative that never addresses its character in the second person or
    narrates it by name in the third; a narrative that addresses another character as the
    one narrated; a narrative that repeats the character's previous one.
    """
    if placeholder(narrative):
        raise ParseError(f"the narrative is a placeholder ({narrative.strip()[:40]!r}), not a narration: "
                         "write what happens, in full sentences")
    for where, text in texts:
        if placeholder(text):
            raise ParseError(f"{where} is a placeholder ({text.strip()[:40]!r}): write the actual text, "
                             "without <angle brackets>")
    me = inp.knowledge.me
    prose = _unquoted(narrative)
    if inp.mode != "shared":
        if not _SECOND_PERSON.search(prose):
            raise ParseError(f"the narrative is not in the second person: address {me.name} as \"you\" "
                             f"(\"You ...\"), not by name")
        for name in _names(me.name):
            if re.search(rf"(?:^|[.!?]\s+){re.escape(name)}\b(?!,)", prose):
                raise ParseError(f"the narrative calls {me.name} by name in the third person: write "
                                 f"\"you\" for {me.name}")
        low = prose.lower()
        for other in inp.knowledge.others:
            for name in _names(other.name):
                if name.lower() not in low:
                    continue  # the pattern below needs the name in the prose: skip its search
                n = re.escape(name)
                if re.search(rf"\byou(?:,| are| as)\s+{n}\b(?!['’]s)|(?:^|[.!?]\s+){n},\s+you\b",
                             prose, re.IGNORECASE):
                    raise ParseError(f"the narrative addresses {other.name} as \"you\", but it is "
                                     f"{me.name}'s narrative: \"you\" is {me.name}")
    for earlier in inp.recent_narrative:
        if jaccard(narrative, earlier) >= REPEAT_SIMILARITY:
            raise ParseError("the narrative repeats your previous narrative: narrate what happens now")
