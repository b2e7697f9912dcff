"""A frame's story as Markdown (``GET /frames/{id}/transcript.md``, issue 16 item 7). Pure: the
caller passes the narratives the reader may read (RLS: a player's own; the GM's: all)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from synthesis.timing import format_game_clock
from synthesis.types import Frame, SolidRow


def render(frame: Frame, solids: Iterable[SolidRow], names: Mapping[UUID, str], *, gm: bool) -> str:
    """One section per character (in order of its first narrative), its narratives in order,
    each headed by the in-fiction clock and what woke it. A shared narrative (one for every
    participant) appears once, under the character whose window it narrated."""
    by_char: dict[UUID, list[SolidRow]] = {}
    for s in sorted(solids, key=lambda s: s.seq):
        by_char.setdefault(s.character_id, []).append(s)
    lines = [f"# {frame.name}", "",
             f"*{'Every character' if gm else 'Your story'} · {sum(map(len, by_char.values()))} narratives · "
             f"in-fiction time {format_game_clock(frame.clock_seconds)}*", ""]
    if not by_char:
        lines += ["*Nothing has been narrated yet.*", ""]
    for cid, rows in by_char.items():
        lines += [f"## {names.get(cid, 'Unknown character')}", ""]
        for s in rows:
            lines += [f"### {format_game_clock(s.game_clock)} · {s.trigger_mode}", "", s.narrative.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"
