"""The knowledge boundary on the way out (DESIGN §4): what may not leave a Medium into the
shared layer. Pure; a function of the Medium's input and its parsed outcome.

A Medium sees its own character's secrets, because the personal narrative needs them, and it
also writes the OUTCOME that every character and every other Medium reads. The shared layer
is the outcome's action texts, ``world_facts`` and interrupt reasons. It may carry none of:

* the character's ``internal`` truth;
* the ``internal`` truth of any of its affiliations (hidden membership or not);
* the existence of a hidden membership.

Texts are compared after normalising case, punctuation, possessives, digit grouping and simple
suffixes, sentence by sentence of the secret. Anything already public in the Medium's own
input (the world, the scenario, lore, every character's universal and external truth, groups
that are publicly visible, every action text including the owner's own, earlier outcomes)
carries no secret: a phrase the player typed into their own action, or a word the world text
already uses, never makes a hit on its own. Two rules, tuned on the Mos Eisley scenario
(``tests/unit/test_guard.py``):

* **phrase**: a run of at least ``PHRASE_WORDS`` consecutive words shared with one secret
  sentence, holding at least ``PHRASE_SECRET_STEMS`` content words that nothing public uses.
  ("in her left boot" is a hit; "to the end of the bar" is not, since "bar" is public and
  "end" alone is not a secret);
* **overlap**: at least ``OVERLAP_MIN`` content words shared with one secret sentence, at
  least ``OVERLAP_SECRET_STEMS`` of them not public, covering at least ``OVERLAP_SHARE`` of
  the shorter of the two texts (catches paraphrase: "Kessa owes 4,000 credits to a Hutt").

A hidden membership is revealed by naming the group where nobody could otherwise know it:
when no one has a public membership in it and no public text names it, its name (or a
distinctive word of it, such as "rebel") in the shared layer is a hit. When the group is
publicly known, naming it is fine; naming it together with the owner and a membership word
("member", "agent", "informant", ...) is a hit.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from synthesis.types import ActionOutcome, MediumInput

PHRASE_WORDS = 4
PHRASE_SECRET_STEMS = 2
OVERLAP_MIN = 3
OVERLAP_SECRET_STEMS = 1
OVERLAP_SHARE = 0.5

Kind = Literal["private", "group", "membership"]
PROBLEM: dict[Kind, str] = {
    "private": "repeats your character's private truth, which no onlooker could observe",
    "group": "repeats the private truth of a group your character belongs to",
    "membership": "reveals a secret group membership",
}

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be been before being below
between both but by can could did do does doing down during each either few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves must may might also yet
""".split())
# Words that name a kind of group, too common to reveal one on their own ("a power cell").
GENERIC_GROUP_WORDS = frozenset("""
cell group guild order house club circle society company band crew council league party union
family clan network ring syndicate brotherhood sisterhood alliance garrison army corps unit
""".split())
MEMBERSHIP_WORDS = frozenset("""
member belong join agent operative informant spy secret secretly undercover sworn loyal loyalty
allegiance part work serve report recruit ally affiliate insider mole
""".split())

_SENTENCE = re.compile(r"[.!?;\n]+")
_DIGIT_GROUP = re.compile(r"(?<=\d)[,_](?=\d{3})")
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_WORD = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A deliberately small suffix stripper: enough for 'codes'/'code', 'carries'/'carry'."""
    for suffix, repl, keep in (("ies", "y", 3), ("ied", "y", 3), ("ing", "", 4), ("ed", "", 4),
                               ("es", "e", 4), ("s", "", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep and not word.endswith("ss"):
            return word[: len(word) - len(suffix)] + repl
    return word


def tokens(text: str) -> list[str]:
    """Normalised word stems of ``text``: case, accents, punctuation, possessives and digit
    grouping ('4,000' == '4000') do not matter."""
    return list(_tokens(text))


@functools.lru_cache(maxsize=16384)
def _tokens(text: str) -> tuple[str, ...]:
    """``tokens``, kept: a frame's texts (world, layers, past outcomes) recur in every one of
    its Mediums' guards, so each is normalised once per process, not once per synthesis."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    text = _POSSESSIVE.sub("", _DIGIT_GROUP.sub("", text))
    return tuple(_stem(w) for w in _WORD.findall(text))


def content(stems: Iterable[str]) -> set[str]:
    return {s for s in stems if s not in STOPWORDS and len(s) > 1}


def _grams(seq: list[str], n: int = PHRASE_WORDS) -> set[tuple[str, ...]]:
    return {tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)}


@dataclass(frozen=True)
class Secret:
    kind: Kind
    stems: tuple[str, ...]  # the sentence, normalised, stop words kept (for phrases)
    words: frozenset[str]  # its content stems (for overlap)


@dataclass(frozen=True)
class HiddenGroup:
    name: tuple[str, ...]  # the group's name, normalised
    distinctive: frozenset[str]  # its non-generic content stems
    public: bool  # visible to others anyway (a public member, or a public text names it)


@dataclass(frozen=True)
class Guard:
    """The forbidden texts of one Medium, and what is public in its input."""

    secrets: tuple[Secret, ...]
    hidden: tuple[HiddenGroup, ...]
    public: frozenset[str]  # content stems any onlooker's text already uses
    owner: frozenset[str]  # stems that name the owner (name words, handle)

    @property
    def empty(self) -> bool:
        return not self.secrets and not self.hidden


@dataclass(frozen=True)
class Finding:
    where: str  # "world_facts[1]", "actions_resolved[0].action", "interrupts[0].reason"
    kind: Kind

    def describe(self) -> str:
        """The problem, named without quoting the secret."""
        return f"{self.where} {PROBLEM[self.kind]}"


def public_texts(inp: MediumInput) -> list[str]:
    """Every text in the input that any onlooker may already know. Excludes the owner's
    internal, its groups' internal, hidden-only groups and its own narratives."""
    k = inp.knowledge
    out = [inp.world, inp.scenario, inp.history_summary, inp.interrupt_reason or "", *inp.content]
    for p in [k.me, *k.others]:
        out += [p.name, p.handle, p.universal, p.external]
    for p in k.others:
        out += p.affiliations
    for g in k.groups:
        if not g.member or not g.hidden or _publicly_reached(inp, g.name):
            out += [g.name, g.universal, g.external]
    for a in [*inp.my_action, *inp.same_pscale_actions, *inp.stalled_actions, *inp.pending_higher_pscale,
              *inp.pending_other]:
        out += [a.name, a.text]
    for o in inp.resolved_outcomes:
        out += [a.get("action", "") for a in o.actions] + list(o.world_facts)
        out += [i.get("reason", "") for i in o.interrupts]
    return [t for t in out if t]


def _publicly_reached(inp: MediumInput, group: str) -> bool:
    k = inp.knowledge
    return any(group in o.affiliations for o in k.others) or any(
        g.name == group and g.member and not g.hidden for g in k.groups)


def build(inp: MediumInput) -> Guard:
    k = inp.knowledge
    public_seq = [tokens(t) for t in public_texts(inp)]
    public = frozenset(s for seq in public_seq for s in content(seq))
    secrets: list[Secret] = []

    def add(kind: Kind, text: str | None) -> None:
        for sentence in _SENTENCE.split(text or ""):
            seq = tokens(sentence)
            if len(content(seq)) >= 2:
                secrets.append(Secret(kind, tuple(seq), frozenset(content(seq))))

    if inp.mode == "personal":
        add("private", k.me.internal)
        for g in k.groups:
            if g.member:
                add("group", g.internal)
    hidden = []
    for g in k.groups:
        if g.member and g.hidden:
            name = tokens(g.name)
            named = any(_contains(seq, _strip_the(name)) for seq in public_seq)
            hidden.append(HiddenGroup(
                name=tuple(_strip_the(name)),
                distinctive=frozenset(content(name) - GENERIC_GROUP_WORDS - public),
                public=_publicly_reached(inp, g.name) or named))
    owner = frozenset(content(tokens(k.me.name)) | {k.me.handle.lower(), *tokens(k.me.handle)})
    return Guard(tuple(secrets), tuple(hidden), public, owner)


def _strip_the(seq: list[str]) -> list[str]:
    return seq[1:] if seq[:1] == ["the"] else seq


def _contains(seq: list[str] | tuple[str, ...], part: list[str] | tuple[str, ...]) -> bool:
    n = len(part)
    return n > 0 and any(tuple(seq[i:i + n]) == tuple(part) for i in range(len(seq) - n + 1))


def _phrase_hit(seq: list[str], secret: Secret, public: frozenset[str]) -> bool:
    shared = _grams(list(secret.stems)) & _grams(seq)
    if not shared:
        return False
    covered = [False] * len(seq)
    for i in range(len(seq) - PHRASE_WORDS + 1):
        if tuple(seq[i:i + PHRASE_WORDS]) in shared:
            covered[i:i + PHRASE_WORDS] = [True] * PHRASE_WORDS
    run: list[str] = []
    for stem, on in zip([*seq, ""], [*covered, False], strict=True):
        if on:
            run.append(stem)
            continue
        if len(content(run) - public) >= PHRASE_SECRET_STEMS:
            return True
        run = []
    return False


def _overlap_hit(words: set[str], secret: Secret, public: frozenset[str]) -> bool:
    both = words & secret.words
    if len(both) < OVERLAP_MIN or len(both - public) < OVERLAP_SECRET_STEMS:
        return False
    return len(both) >= OVERLAP_SHARE * min(len(words), len(secret.words))


def scan(text: str, guard: Guard, *, about_owner: bool = False) -> Kind | None:
    """Which forbidden kind ``text`` carries, if any. ``about_owner``: the text is the owner's
    own resolved action, so it refers to the owner without naming it."""
    seq = tokens(text)
    words = content(seq)
    for secret in guard.secrets:
        if _phrase_hit(seq, secret, guard.public) or _overlap_hit(words, secret, guard.public):
            return secret.kind
    for g in guard.hidden:
        named = _contains(seq, g.name) or bool(words & g.distinctive)
        if not named:
            continue
        if not g.public:
            return "membership"
        if (about_owner or words & guard.owner) and words & MEMBERSHIP_WORDS:
            return "membership"
    return None


def check(outcome: ActionOutcome, guard: Guard, owner_id: object) -> list[Finding]:
    """Every shared text of ``outcome`` that carries something forbidden, in order."""
    if guard.empty:
        return []
    found: list[Finding] = []
    for i, a in enumerate(outcome.actions_resolved):
        kind = scan(a.action, guard, about_owner=a.character_id == owner_id)
        if kind:
            found.append(Finding(f"actions_resolved[{i}].action", kind))
    for i, fact in enumerate(outcome.world_facts):
        kind = scan(fact, guard)
        if kind:
            found.append(Finding(f"world_facts[{i}]", kind))
    for i, x in enumerate(outcome.interrupts):
        kind = scan(x.reason, guard)
        if kind:
            found.append(Finding(f"interrupts[{i}].reason", kind))
    return found


def redact(outcome: ActionOutcome, findings: list[Finding], inp: MediumInput) -> ActionOutcome:
    """The outcome with every finding removed: a leaking fact is dropped, a leaking interrupt
    keeps its effect without its reason, and a leaking action text is replaced by the text
    the player submitted (public by definition) or by a neutral one."""
    where = {f.where for f in findings}
    submitted = {a.character_id: " ".join(a.text.split()) for a in inp.my_action}
    actions = [a if f"actions_resolved[{i}].action" not in where else
               a.model_copy(update={"action": submitted.get(a.character_id, "acts")})
               for i, a in enumerate(outcome.actions_resolved)]
    facts = [f for i, f in enumerate(outcome.world_facts) if f"world_facts[{i}]" not in where]
    ints = [x if f"interrupts[{i}].reason" not in where else x.model_copy(update={"reason": ""})
            for i, x in enumerate(outcome.interrupts)]
    return outcome.model_copy(update={"actions_resolved": actions, "world_facts": facts,
                                      "interrupts": ints})
