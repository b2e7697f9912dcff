"""The prompt budget (issue 16, item 3): a compiled directive fits ``MEDIUM_PROMPT_BUDGET``
tokens (a frame's ``rules.prompt_budget`` overrides it).

Tokens are estimated, not counted: ``ceil(characters / 4)`` over the system and user messages,
OpenAI's rule of thumb for English text. It needs no tokenizer, is the same for every
provider, and errs high for the short words of prose, so a prompt within the estimate is within
the budget of any common tokenizer give or take a few percent.

Sections are trimmed one item (a line) at a time, in ``TRIM_ORDER``: the first section of the
order loses items until it is empty, then the next, until the prompt fits.

1. ``summary``: the one-line-each summary of older outcomes, oldest line first;
2. ``told``: the briefs of narratives already told, oldest first;
3. ``pending``: pending intent of other characters (not resolved), last first;
4. ``lore``: lorebook entries, lowest-ranked first (``always`` entries, then those the recent
   context triggered, then those the current action triggered);
5. ``outcomes``: resolved outcomes not yet narrated, oldest first;
6. ``recall``: older items of its own history the current action names (synthesis/recall.py),
   lowest-scored first: what the player just asked about outlasts the oldest unnarrated outcome;
7. ``memory``: the character's own rolling summary (synthesis/memory.py), whole;
8. ``groups``: groups the character knows of but is not in, last first;
9. ``others``: the others present, last first;
10. ``scenario`` then ``world``: their text, last line first.

Never trimmed: the system role, ORIENTATION, the character's own truth layers and its
affiliations' (its truth layers), the clock and wake, its own action, the same-pscale and
stalled actions (they resolve with it), and the output format. A prompt that is still over
budget when only those remain is sent as it is, and says so. What was trimmed is named in the
directive itself (``note``), so the GM's directive view shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CHARS_PER_TOKEN = 4
DEFAULT_PROMPT_BUDGET = 3000
MIN_PROMPT_BUDGET = 500
MAX_PROMPT_BUDGET = 200_000
TRIM_ORDER: tuple[str, ...] = ("summary", "told", "pending", "lore", "outcomes", "recall", "memory",
                               "groups", "others", "scenario", "world")
NOTE_TITLE = "PROMPT BUDGET"
NOTE_RESERVE = 240  # characters kept free for the note itself


def estimate_tokens(text: str) -> int:
    """The documented cheap estimate: one token per 4 characters, rounded up."""
    return -(-len(text) // CHARS_PER_TOKEN)


@dataclass
class Section:
    """One block of the prompt: a title line, its item lines, then a blank line. ``key`` names
    a trimmable section (one of ``TRIM_ORDER``); None: never trimmed. An empty trimmable
    section disappears, title and all; ``placeholder`` (never trimmed) shows when it is empty."""

    title: str | None
    lines: list[str]
    key: str | None = None
    trim_from: Literal["front", "back"] = "back"
    blank: bool = True
    dropped: int = 0
    total: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.total = len(self.lines)

    def render(self) -> list[str]:
        if not self.lines and self.key is not None:
            return []
        head = [self.title] if self.title is not None else []
        return [*head, *self.lines, *([""] if self.blank else [])]

    def chars(self) -> int:
        return sum(len(x) + 1 for x in self.render())

    def drop_one(self) -> None:
        self.lines.pop(0 if self.trim_from == "front" else -1)
        self.dropped += 1


@dataclass(frozen=True)
class Fitted:
    text: str
    tokens: int
    budget: int
    trimmed: dict[str, str]  # section key -> "dropped of total"


def fit(sections: list[Section], *, budget: int | None, fixed: str = "") -> Fitted:
    """Trim ``sections`` (in place) to fit ``budget`` tokens together with ``fixed`` (the system
    message); return the user text, with a note naming what was trimmed when anything was."""
    chars = len(fixed) + sum(s.chars() for s in sections)
    limit = None if budget is None else budget * CHARS_PER_TOKEN - NOTE_RESERVE
    by_key = {s.key: s for s in sections if s.key is not None}
    for key in TRIM_ORDER:
        s = by_key.get(key)
        while limit is not None and chars > limit and s is not None and s.lines:
            before = s.chars()
            s.drop_one()
            chars += s.chars() - before
    trimmed = {s.key: f"{s.dropped} of {s.total}" for s in sections if s.key and s.dropped}
    lines = [line for s in sections for line in s.render()]
    if trimmed and budget is not None:
        over = " (still over: only untrimmable sections remain)" if limit is not None and chars > limit else ""
        note = f"{NOTE_TITLE}: {budget} tokens; trimmed {', '.join(f'{k} {v}' for k, v in trimmed.items())}{over}"
        out = next((i for i, s in enumerate(lines) if s.startswith("OUTPUT FORMAT")), len(lines))
        lines[out:out] = [note, ""]
    text = "\n".join(lines).strip() + "\n"
    return Fitted(text=text, tokens=estimate_tokens(fixed) + estimate_tokens(text),
                  budget=budget or 0, trimmed=trimmed)
