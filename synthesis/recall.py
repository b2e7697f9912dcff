"""Retrieval (issue 16, item 2): for the current action, the most relevant older items of the
character's OWN history: its own narratives and the outcomes those narratives incorporated.

The database proposes candidates by full-text search (``recall_candidates``: Postgres'
``english`` configuration, any term of the action, ``ts_rank``); ``pick`` decides, in Python:
it keeps only what the character witnessed (its own narratives, outcomes named in its own
narratives' ``outcome_ids``: the boundary, whatever the query returned), drops what the prompt
already shows, weighs relevance by recency (``score = rank * (RECENCY_FLOOR + (1 - RECENCY_FLOOR)
* seq / latest)``: relevance leads, recency breaks near ties) and keeps the best ``RECALL_ITEMS``,
best first (each shows its ``#seq``; the prompt budget trims the last first). Nothing here needs
pgvector.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

RECALL_ITEMS = 4
RECENCY_FLOOR = 0.75
NARRATIVE_WORDS = 60
TITLE = "RECALLED (earlier moments of your own story this action brings back; already told)"


@dataclass(frozen=True)
class Recalled:
    kind: str  # "narrative" | "outcome"
    id: UUID
    seq: int
    score: float
    item: dict[str, Any]


def pick(candidates: Iterable[dict[str, Any]], *, own_solids: set[UUID], witnessed: set[UUID],
         shown: set[UUID], latest: int, limit: int = RECALL_ITEMS) -> list[Recalled]:
    """The items to recall, best first (see the module doc)."""
    kept: list[Recalled] = []
    for c in candidates:
        cid = UUID(str(c["id"]))
        allowed = cid in own_solids if c["kind"] == "narrative" else cid in witnessed
        if not allowed or cid in shown:
            continue
        seq = int(c["seq"])
        recency = seq / latest if latest > 0 else 1.0
        score = float(c["rank"]) * (RECENCY_FLOOR + (1 - RECENCY_FLOOR) * min(1.0, recency))
        kept.append(Recalled(kind=str(c["kind"]), id=cid, seq=seq, score=score, item=dict(c["item"])))
    return sorted(kept, key=lambda r: (-r.score, -r.seq))[:limit]


def narrative_line(text: str) -> str:
    words = " ".join(text.split()).split()
    return " ".join(words[:NARRATIVE_WORDS]) + (" …" if len(words) > NARRATIVE_WORDS else "")
