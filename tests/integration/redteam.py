"""Red-team support (issue 14, item 7): each suite counts the bad inputs it refused, per surface,
and writes the counts to ``tests/redteam-counts/<surface>.json`` (the closing note quotes them).

A refusal counts only when it is *clear*: an HTTP 4xx in the one error shape with a ``field``
(or a message) naming the problem, a WebSocket close code with a reason, a CLI exit code with
a message naming the file or flag, a ``ParseError`` naming what the model got wrong; and, where
there is a database, zero rows written and the server healthy afterwards."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

COUNTS_DIR = Path(__file__).resolve().parents[1] / "redteam-counts"


class Tally:
    """Refusals by surface and kind; ``save`` writes them for the report."""

    def __init__(self, surface: str):
        self.surface = surface
        self.kinds: Counter[str] = Counter()
        self.accepted = 0  # generated inputs that turned out valid (not counted as refusals)

    def refused(self, kind: str) -> None:
        self.kinds[kind] += 1

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    def save(self, **extra: Any) -> dict[str, Any]:
        doc = {"surface": self.surface, "refused": self.total, "by_kind": dict(sorted(self.kinds.items())),
               "accepted_generated": self.accepted, **extra}
        COUNTS_DIR.mkdir(exist_ok=True)
        (COUNTS_DIR / f"{self.surface}.json").write_text(json.dumps(doc, indent=2) + "\n")
        return doc


def clear_http_error(r: httpx.Response) -> dict[str, Any]:
    """The error of a clear 4xx: the one shape, a message, and a field naming the input at
    fault (401s name ``authorization``, ``token``, ``code`` or ``refresh_token``)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    doc = r.json()
    assert set(doc) == {"error"}, doc
    error = doc["error"]
    assert set(error) == {"code", "message", "field"}, error
    assert error["message"], error
    assert error["field"], error
    return error  # type: ignore[no-any-return]
