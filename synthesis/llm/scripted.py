"""The scripted narrator: a deterministic, offline implementation of the LLM interface.

It answers the real compiled prompts (Medium, soft analysis, NPC actor) by reading them, so
compile → complete → parse runs end to end in demos, tests and load tests. It is seeded
(same prompt + seed → same answer), has a configurable latency distribution, and writes
narratives that differ by perspective: second person for the viewer, others through their
*external* view. It only uses facts found in its prompt. Its provider label is "scripted",
and everything it writes is labelled as scripted wherever it is shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from synthesis.compile import TOLD, brief
from synthesis.errors import InvalidInput, LLMTransientError
from synthesis.llm.base import Completion, Delta, Message, Usage, delta_sink

PROVIDER = "scripted"
LABEL = "scripted narrator (offline)"
_ACT = re.compile(r'^- \[(?P<h>[a-z0-9_]+)\] [«"](?P<t>.*)[»"] \(pscale (?P<p>-?\d), (?P<s>\w+)\)'
                  r"(?: \(interruptive; targets: (?P<tg>[^)]*)\))?$")
_OTHER = re.compile(r"^- \[(?P<h>[a-z0-9_]+)\] (?P<n>[^:]+): (?P<u>.*?) \| appears: (?P<e>[^|]*)")
_ROSTER = re.compile(r"^- \[(?P<h>[a-z0-9_]+)\] (?P<n>[^:]+):")
_OUTCOME_ACT = re.compile(r"\[(?P<h>[a-z0-9_]+)\] «?(?P<a>.*?)»? -> (?P<r>success|partial|failure|interrupted)")
_UNIT = {"ms": 0.001, "s": 1.0}


@dataclass(frozen=True)
class Latency:
    """A latency distribution: ``0``, ``fixed:50ms``, ``uniform:100ms-300ms``, ``lognormal:800ms``
    (median 800 ms, sigma 0.5)."""

    kind: str = "fixed"
    a: float = 0.0
    b: float = 0.0

    @staticmethod
    def parse(spec: str | None) -> Latency:
        if not spec or spec.strip() in ("0", "none"):
            return Latency()

        def secs(v: str) -> float:
            m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s)?\s*", v)
            if not m:
                raise InvalidInput(f"bad duration {v!r} (use e.g. 800ms or 1.5s)", field="llm_latency")
            return float(m.group(1)) * _UNIT[m.group(2) or "ms"]

        kind, _, rest = spec.partition(":")
        kind = kind.strip().lower()
        if kind == "fixed":
            return Latency("fixed", secs(rest))
        if kind == "uniform":
            lo, _, hi = rest.partition("-")
            return Latency("uniform", secs(lo), secs(hi))
        if kind == "lognormal":
            return Latency("lognormal", secs(rest), 0.5)
        if not rest:
            return Latency("fixed", secs(kind))
        raise InvalidInput(f"unknown latency distribution {spec!r}; use fixed:, uniform: or "
                           "lognormal:", field="llm_latency")

    def sample(self, rng: random.Random) -> float:
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "lognormal" and self.a > 0:
            return float(rng.lognormvariate(math.log(self.a), self.b))
        return self.a


def _lines(section: str, text: str) -> list[str]:
    """The lines of the prompt section whose title starts with ``section``."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if not inside and line.startswith(section):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            out.append(line)
    return out


def second_person(text: str) -> str:
    """'I draw my blaster' → 'you draw your blaster', leaving quoted dialogue untouched."""
    parts = re.split(r'("[^"]*"|\'[^\']*\'(?=\W|$)|“[^”]*”)', text)
    swaps = {"i": "you", "my": "your", "me": "you", "mine": "yours", "i'm": "you're",
             "myself": "yourself", "am": "are", "i've": "you've", "i'll": "you'll"}
    for i, part in enumerate(parts):
        if i % 2 == 0:
            parts[i] = re.sub(r"\b(I|my|me|mine|I'm|myself|am|I've|I'll)\b",
                              lambda m: swaps[m.group(0).lower()], part)
    return "".join(parts).strip()


def you_do(text: str) -> str:
    """'I attack' → 'You attack'; 'Draw!' → 'You: Draw!'."""
    s = second_person(text).rstrip(".!")
    if s.lower().startswith("you "):
        return "You " + s[4:]
    return f"You: {s}"


def as_seen(who: str, looks: str, text: str) -> str:
    """Another character's action from outside: their external look, their words verbatim."""
    look = f" ({looks.rstrip('.').lower()})" if looks else ""
    return f'{who}{look} makes a move: “{text.strip()}”'


RESULT_PHRASE = {
    "success": "and it goes the way you meant it to",
    "partial": "and it half works",
    "failure": "but it goes wrong",
    "interrupted": "but you are cut short",
}
OTHER_RESULT = {"success": "and it works", "partial": "with mixed luck",
                "failure": "and it fails", "interrupted": "before being cut short"}


async def _stream(text: str, delay: float, sink: Delta) -> None:
    """Send ``text`` in word-sized chunks spread evenly over the call's sampled latency (paced
    against the start, so the sleeps' own overhead does not add up: the whole reply takes
    ``delay``, as an unstreamed call does)."""
    chunks = re.findall(r"\S+\s*|\s+", text) or [text]
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, chunk in enumerate(chunks, 1):
        if delay > 0 and (wait := start + delay * i / len(chunks) - loop.time()) > 0:
            await asyncio.sleep(wait)
        sink(chunk)


@dataclass
class ScriptedLLM:
    """Deterministic offline narrator. ``fail_rate`` makes that share of calls fail (half as
    transient errors, half as malformed output) for fault-injection tests."""

    seed: int = 0
    latency: Latency = field(default_factory=Latency)
    fail_rate: float = 0.0
    provider: str = PROVIDER
    calls: int = 0

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        user = "\n".join(m["content"] for m in messages if m["role"] != "system")
        self.calls += 1
        digest = hashlib.sha256(f"{self.seed}|{system}|{user}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311  reproducible prose, not secrets
        # The fault dice are per call (so a retry may succeed); the content dice per prompt.
        fault = random.Random(f"{self.seed}:{self.calls}:{digest.hex()[:8]}")  # noqa: S311  fault dice
        delay = self.latency.sample(fault)
        sink = delta_sink()
        if delay > 0 and sink is None:
            await asyncio.sleep(delay)
        roll = fault.random()
        if roll < self.fail_rate / 2:
            raise LLMTransientError("scripted narrator: injected failure")
        malformed = roll < self.fail_rate
        if "SOFT ANALYSIS" in system:
            text = self._soft(user)
        elif "NPC ACTOR" in system:
            text = self._actor(user, rng)
        elif "MEMORY SUMMARY" in system:
            text = self._memory(user)
        else:
            text = self._medium(user, rng, json_mode=json_schema is not None or "OUTPUT FORMAT (JSON)" in user)
        if malformed:
            text = text[: max(1, len(text) // 3)] if json_schema else "NARRATIVE\n"
        usage = Usage(prompt_tokens=(len(system) + len(user)) // 4, completion_tokens=len(text) // 4)
        if sink is not None:
            await _stream(text, delay, sink)
        return Completion(text=text, usage=usage, model=model, provider=self.provider)

    # --- memory summary (synthesis/memory.py) ---------------------------------------------------

    def _memory(self, user: str) -> str:
        """Extractive and deterministic: the previous memory, then the first sentence of each
        item that happened since, within ~250 words."""
        previous = " ".join(_lines("YOUR MEMORY SO FAR", user)).replace("(none yet)", "").strip()
        since = [re.sub(r"^\(#\d+, [a-z]+\) ", "", x) for x in _lines("WHAT HAPPENED SINCE", user)
                 if x.startswith("(#")]
        firsts = [re.split(r"(?<=[.!?])\s+", x, maxsplit=1)[0] for x in since]
        words = " ".join([previous, *firsts]).split()
        return " ".join(words[-250:]) or "You remember little yet."

    # --- soft analysis ---------------------------------------------------------------------------

    def _soft(self, user: str) -> str:
        from synthesis import soft  # local: soft imports llm.base only, no cycle at import time

        lines = _lines("ACTION:", user)
        end = next((i for i, line in enumerate(lines) if line.startswith("Reply:")), len(lines))
        action = "\n".join(lines[:end]).strip()  # the ACTION section ends at the reply format
        others = [m for m in (_ROSTER.match(line) for line in _lines("OTHERS:", user)) if m]
        pscale = soft.classify(action)
        words = set(re.findall(r"[a-z']+", action.lower()))
        targets = [m.group("h") for m in others
                   if {w for w in re.findall(r"[a-z']+", m.group("n").lower()) if len(w) > 2} & words]
        hostile = bool(targets) and bool(words & soft.HOSTILE_VERBS)
        return json.dumps({"pscale": pscale, "interruptive": hostile,
                           "interrupt_targets": targets if hostile else [], "refined_text": action})

    # --- NPC actor -----------------------------------------------------------------------------

    def _actor(self, user: str, rng: random.Random) -> str:
        options = []
        for line in _lines("AVAILABLE ACTIONS", user):
            m = re.match(r'^- "(.*)" \(pscale (-?\d)\)$', line.strip())
            if m:
                options.append({"text": m.group(1), "pscale": int(m.group(2))})
        if not options:
            return json.dumps({"text": "I keep to myself and watch the room", "pscale": -1})
        return json.dumps(rng.choice(options))

    # --- Medium ----------------------------------------------------------------------------------

    def _medium(self, user: str, rng: random.Random, *, json_mode: bool) -> str:
        me = re.search(r"^(?:YOU|NARRATING FOR) \[(?P<h>[a-z0-9_]+)\] (?P<n>.+?)(?: AND EVERYONE PRESENT)?$",
                       user, re.MULTILINE)
        handle, name = (me.group("h"), me.group("n")) if me else ("unknown", "someone")
        others = {m.group("h"): (m.group("n"), m.group("e").strip())
                  for m in (_OTHER.match(x) for x in _lines("OTHERS PRESENT", user)) if m}
        # Shared mode: one window resolves everyone's actions ("ACTIONS TO RESOLVE").
        mine = [m for m in (_ACT.match(x) for x in _lines("YOUR ACTION", user) or _lines("ACTIONS TO RESOLVE", user))
                if m]
        same = [m for m in (_ACT.match(x) for x in _lines("SAME-PSCALE", user)) if m]
        pending = [m for m in (_ACT.match(x) for x in _lines("PENDING INTENT", user)) if m]
        resolved = _lines("RESOLVED OUTCOMES", user)
        wake = re.search(r"^WAKE: (?P<mode>\w+)(?: by \[(?P<src>[a-z0-9_]+)\]: (?P<why>.*))?$", user, re.MULTILINE)
        interrupted = bool(wake and wake.group("mode") == "interrupt")

        actions, interrupts, involved, story = [], [], [], []
        if interrupted and wake is not None:
            src = others.get(wake.group("src") or "", ("someone", ""))[0]
            why = (wake.group("why") or "an interruption").strip("«»") or "an interruption"
            story.append(f"Before you can finish, {src} cuts across you: “{why}”.")
        elif wake and wake.group("mode") == "perceive":
            story.append("You take in what has just happened around you.")
        for m in mine:
            result = "interrupted" if interrupted else rng.choices(
                ["success", "partial", "failure"], weights=[6, 3, 1])[0]
            actor = m.group("h") if m.group("h") in others else handle
            actions.append({"character": actor, "action": m.group("t"), "result": result})
            if actor == handle:
                story.append(f"{you_do(m.group('t'))}, {RESULT_PHRASE[result]}.")
            else:
                story.append(f"{as_seen(*others[actor], m.group('t'))}, {OTHER_RESULT[result]}.")
            for t in [x.strip() for x in (m.group("tg") or "").split(",") if x.strip() in others]:
                interrupts.append({"target": t, "reason": m.group("t")})
                involved.append(t)
        for m in same:
            h = m.group("h")
            if h in others:
                involved.append(h)
                who, looks = others[h]
                story.append(f"At the same moment {as_seen(who, looks, m.group('t'))}.")
        for line in resolved:
            for a in _OUTCOME_ACT.finditer(line):
                h = a.group("h")
                if h == handle:
                    continue
                who, looks = others.get(h, ("someone", ""))
                story.append(f"Earlier, {as_seen(who, looks, a.group('a'))} — {OTHER_RESULT[a.group('r')]}.")
        if pending:
            p = rng.choice(pending)
            who = others.get(p.group("h"), ("someone", ""))[0]
            story.append(f"You sense {who} is about to do something.")
        if others:
            h = rng.choice(sorted(others))
            who, looks = others[h]
            story.append(f"From where you are, {who} looks {looks.rstrip('.').lower() or 'unreadable'}.")
        if not story:
            story.append("The room goes on around you; nothing touches you yet.")
        clock = next((x for x in user.splitlines() if x.startswith("CLOCK:")), "CLOCK: now")
        fact = f"{name} acted at {clock.removeprefix('CLOCK: ')}"
        narrative = " ".join(story)
        if any(brief(narrative) in line for line in _lines(TOLD, user)):
            narrative += " Moments pass; the scene moves on around you."  # never repeat verbatim
        if json_mode:
            return json.dumps({"outcome": {"actions_resolved": actions, "world_facts": [fact] if mine else [],
                                           "interrupts": interrupts, "involved": sorted(set(involved))},
                               "narrative": narrative})
        out = ["OUTCOME", "actions_resolved:"]
        out += [f"- {a['character']} | {a['action']} | {a['result']}" for a in actions]
        out += ["world_facts:"] + ([f"- {fact}"] if mine else [])
        out += ["interrupts:"] + [f"- {i['target']} | {i['reason']}" for i in interrupts]
        out += ["involved:"] + [f"- {h}" for h in sorted(set(involved))]
        out += ["NARRATIVE", narrative]
        return "\n".join(out)
