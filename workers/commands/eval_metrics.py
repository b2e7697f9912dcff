"""Pure figures for `medium eval`: leaks, divergence, percentiles. No I/O.

A *leak* is a secret found in something a player can read: that player's narratives and
every outcome (outcomes are shared with the whole frame). Secrets, per reader:

* another character's `internal`;
* the `internal` of an affiliation the reader is not a member of;
* another character's hidden membership: a sentence naming that character (or using its
  handle) together with the affiliation's name.

A secret text "is found" when any run of `SHINGLE` consecutive words of it (all of it, when
shorter) appears in the readable text, compared lower-cased on words only: copying a secret
in a paraphrase this loose still counts, a single shared word does not. Runs that also occur
in what the players themselves typed (`Readable.public`: the submitted actions, visible to
the frame as intent and as the outcome's action texts) are not the Medium's doing and do not
count: Tobin *saying* he sits at the end of the bar is not his cell's secret leaking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from synthesis import stats
from synthesis.quality import jaccard
from synthesis.scenario import Scenario

SHINGLE = 5
_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Leak:
    reader: str
    kind: str  # "internal" | "affiliation_internal" | "hidden_membership"
    whose: str  # the character or affiliation whose secret it is
    where: str  # "narrative" | "outcome"

    def as_dict(self) -> dict[str, str]:
        return {"reader": self.reader, "kind": self.kind, "whose": self.whose, "where": self.where}


@dataclass
class Readable:
    """What one reader can read: its own narratives; outcomes are the same for everyone."""

    narratives: dict[str, list[str]] = field(default_factory=dict)  # character name -> texts
    outcomes: list[str] = field(default_factory=list)
    public: list[str] = field(default_factory=list)  # the submitted action texts


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def contains_secret(secret: str, text: str, public: str = "", shingle: int = SHINGLE) -> bool:
    """True when a run of `shingle` words of `secret` (or all of it, when shorter) is in `text`
    and not in `public`."""
    words = _words(secret)
    target, said = (" " + " ".join(_words(t)) + " " for t in (text, public))
    if not words:
        return False
    n = min(shingle, len(words))
    runs = (" " + " ".join(words[i:i + n]) + " " for i in range(len(words) - n + 1))
    return any(run in target and run not in said for run in runs)


def _names(name: str, handle: str) -> list[str]:
    parts = [p for p in name.split() if len(p) > 2 and p.lower() not in {"the", "sergeant", "captain"}]
    return [name, handle, *parts]


def names_membership(text: str, who: Sequence[str], group: str) -> bool:
    """A sentence of `text` names the character (any of `who`) and the group `group`."""
    for sentence in _SENTENCE.split(text):
        low = sentence.lower()
        if group.lower() in low and any(re.search(rf"\b{re.escape(w.lower())}\b", low) for w in who):
            return True
    return False


def find_leaks(sc: Scenario, readable: Readable, handles: dict[str, str]) -> list[Leak]:
    """Every secret of `sc` found in what a character other than its owner can read."""
    leaks: list[Leak] = []
    members = {c.name: {m.name for m in c.affiliations} for c in sc.characters}
    public = " | ".join(readable.public)
    for reader in sc.characters:
        texts = [("narrative", t) for t in readable.narratives.get(reader.name, [])]
        texts += [("outcome", t) for t in readable.outcomes]
        for where, text in texts:
            for other in sc.characters:
                if other.name == reader.name:
                    continue
                if other.internal and contains_secret(other.internal, text, public):
                    leaks.append(Leak(reader.name, "internal", other.name, where))
                for m in other.affiliations:
                    who = _names(other.name, handles.get(other.name, other.name))
                    if m.hidden and names_membership(text, who, m.name):
                        leaks.append(Leak(reader.name, "hidden_membership", f"{other.name}/{m.name}", where))
            for a in sc.affiliations:
                if a.name not in members[reader.name] and a.internal and contains_secret(a.internal, text, public):
                    leaks.append(Leak(reader.name, "affiliation_internal", a.name, where))
    return sorted(set(leaks), key=lambda x: (x.reader, x.kind, x.whose, x.where))


def divergence(narratives_by_outcome: Iterable[Sequence[tuple[str, str]]]) -> dict[str, float | int]:
    """Mean token Jaccard over pairs of narratives (by different characters) of one outcome."""
    scores = [jaccard(a, b) for group in narratives_by_outcome
              for (who_a, a), (who_b, b) in combinations(group, 2) if who_a != who_b]
    mean = sum(scores) / len(scores) if scores else 0.0
    return {"mean_similarity": round(mean, 3), "pairs": len(scores)}


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """Nearest-rank p50 and p99 (``synthesis.stats``; zeros when empty), rounded to 0.1."""
    ordered = sorted(samples)
    if not ordered:
        return {"p50": 0.0, "p99": 0.0}
    return {"p50": round(stats.percentile(ordered, 50.0), 1), "p99": round(stats.percentile(ordered, 99.0), 1)}
