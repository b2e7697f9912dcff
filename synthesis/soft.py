"""Soft analysis: a cheap read of a submission → pscale, window, interruptive, targets.

An LLM call with a JSON schema, validated; when it fails, times out or returns invalid
output, a deterministic classifier runs instead and the liquid records ``source='fallback'``
with the reason. The window always comes from the pscale table (DESIGN §3) with frame
overrides and the time scale applied, never from the model.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from synthesis.errors import LLMError, MediumError
from synthesis.llm.base import LLM, Message
from synthesis.timing import window_seconds
from synthesis.types import Character, SoftAnalysis, SoftSource

SoftMode = Literal["auto", "model", "classifier"]

SOFT_MARKER = "You are the SOFT ANALYSIS"
SOFT_TIMEOUT = 5.0

FAST_VERBS = {"dive", "duck", "grab", "knock", "shout", "slam", "punch", "shoot", "fire", "kick",
              "jump", "dodge", "snatch", "throw", "stab", "tackle", "slap", "flinch", "yell",
              "scream", "trip", "fall", "spill", "draw"}
QUICK_VERBS = {"attack", "aim", "defend", "say", "tell", "answer", "ask", "reply", "whisper",
               "walk", "step", "sit", "stand", "signal", "nod", "order", "point", "hand", "give",
               "run", "open", "close", "block", "parry", "strike", "swing", "warn"}
MINUTE_VERBS = {"search", "look", "study", "watch", "listen", "question", "examine", "wait",
                "drink", "eat", "polish", "browse", "slip", "sneak", "scan", "read", "talk"}
HOSTILE_VERBS = {"attack", "aim", "shoot", "fire", "grab", "punch", "stab", "tackle", "strike",
                 "kick", "slap", "seize", "draw", "swing", "throw", "interrupt", "stop", "block",
                 "arrest", "restrain", "warn", "shout"}
ROLE_WORDS = {"hunter", "bartender", "sergeant", "captain", "pilot", "trooper", "troopers",
              "kid", "farmer", "owner", "contact", "guard", "smuggler", "officer", "merchant"}
DURATIONS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"\b(all day|overnight|for days|until tomorrow|a day)\b"), 2),
    (re.compile(r"\b(for (an|a few|several) hours?|for hours|an hour)\b"), 1),
    (re.compile(r"\b(for a while|for some time|for a bit|minutes|haggle|negotiate)\b"), 0),
]
_WORD = re.compile(r"[a-z']+")
_QUOTE = re.compile(r"[\"“”']([^\"“”']{2,})[\"“”']")


def _keywords(c: Character) -> set[str]:
    words = {w for w in _WORD.findall(c.name.lower()) if len(w) > 2}
    words.add(c.handle)
    public = _WORD.findall(f"{c.universal} {c.external}".lower())
    return words | {w for w in public[:12] if w in ROLE_WORDS}


def find_targets(text: str, actor: Character, cast: Sequence[Character]) -> list[Character]:
    """Characters named (or unambiguously described by a public role word) in ``text``."""
    words = set(_WORD.findall(text.lower()))
    hits = [c for c in cast if c.id != actor.id and _keywords(c) & words]
    return hits


def classify(text: str) -> int:
    """Deterministic pscale for an action text."""
    return judge(text)[0]


def judge(text: str) -> tuple[int, bool]:
    """The deterministic pscale, and whether a rule decided it (a duration phrase, a quote, a
    verb of a known scale among the first words). False: it fell through to the default
    (-1), so the model is asked (``analyse``, mode ``auto``)."""
    low = text.lower()
    for pattern, pscale in DURATIONS:
        if pattern.search(low):
            return pscale, True
    words = _WORD.findall(low)
    if any(w.rstrip("s") in FAST_VERBS or w in FAST_VERBS for w in words[:6]):
        return -3, True
    if _QUOTE.search(text) or any(w in QUICK_VERBS for w in words[:6]):
        return -2, True
    if any(w in MINUTE_VERBS for w in words[:8]):
        return -1, True
    return -1, False


def fallback(text: str, actor: Character, cast: Sequence[Character], *,
             overrides: Mapping[str, float] | None = None, time_scale: float = 1.0,
             note: str | None = None, pscale: int | None = None,
             source: SoftSource = "fallback") -> SoftAnalysis:
    """The deterministic analysis. A ``pscale`` given by the caller (a scripted player, an
    NPC actor) replaces the classifier's; targets and interruptiveness are still read.
    ``source``: how the row says it was decided (``fallback`` when the model failed)."""
    given = pscale is not None
    pscale = classify(text) if pscale is None else pscale
    targets = find_targets(text, actor, cast)
    words = set(_WORD.findall(text.lower()))
    interruptive = bool(targets) and bool(words & HOSTILE_VERBS)
    return SoftAnalysis(
        pscale=pscale, timer_duration=window_seconds(pscale, overrides=overrides, time_scale=time_scale),
        interruptive=interruptive, interrupt_targets=[t.id for t in targets] if interruptive else [],
        refined_text=text.strip(), source="given" if given else source, note=note,
    )


SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["pscale", "interruptive", "interrupt_targets", "refined_text"],
    "properties": {
        "pscale": {"type": "integer", "minimum": -3, "maximum": 2},
        "interruptive": {"type": "boolean"},
        "interrupt_targets": {"type": "array", "items": {"type": "string"}},
        "refined_text": {"type": "string"},
    },
}


def soft_prompt(text: str, actor: Character, cast: Sequence[Character]) -> list[Message]:
    roster = "\n".join(f"- [{c.handle}] {c.name}: {c.external}" for c in cast if c.id != actor.id)
    return [
        {"role": "system", "content": f"{SOFT_MARKER} of a roleplay action. Classify its scale "
         "and whether it interrupts someone. Answer with JSON only."},
        {"role": "user", "content": (
            "PSCALE: -3 ~1 second (a reflex), -2 ~10 seconds (a line of dialogue, a quick move), "
            "-1 ~1 minute, 0 ~5-10 minutes, 1 ~1 hour, 2 ~1 day.\n"
            "interruptive: true if the action would cut short what someone else is doing; "
            "interrupt_targets: their handles.\n"
            f"ACTOR: [{actor.handle}] {actor.name}\nOTHERS:\n{roster}\n"
            f"ACTION:\n{text.strip()}\n"
            'Reply: {"pscale": n, "interruptive": bool, "interrupt_targets": [handle], '
            '"refined_text": "the action, tidied, dialogue unchanged"}')},
    ]


async def analyse(llm: LLM | None, text: str, actor: Character, cast: Sequence[Character], *,
                  model: str = "soft", overrides: Mapping[str, float] | None = None,
                  time_scale: float = 1.0, timeout: float = SOFT_TIMEOUT,
                  mode: SoftMode = "auto") -> SoftAnalysis:
    """Soft-analyse ``text``; never raises for LLM trouble (falls back and says why).

    ``mode`` (``MEDIUM_SOFT_MODE``): ``auto`` runs the deterministic classifier first and calls
    the model only when no rule decided the scale (``judge``), recording ``source='classifier'``
    otherwise; ``model`` always calls the model; ``classifier`` never does."""
    if mode != "model":
        _, sure = judge(text)
        if sure or mode == "classifier":
            return fallback(text, actor, cast, overrides=overrides, time_scale=time_scale,
                            note="decided by a classifier rule" if sure else "classifier only",
                            source="classifier")
    if llm is None:
        return fallback(text, actor, cast, overrides=overrides, time_scale=time_scale,
                        note="no soft model configured")
    try:
        done = await asyncio.wait_for(
            llm.complete(soft_prompt(text, actor, cast), model=model, json_schema=SCHEMA,
                         max_tokens=300, temperature=0.0), timeout)
        obj = json.loads(done.text[done.text.find("{"):done.text.rfind("}") + 1])
        pscale = obj["pscale"]
        if not isinstance(pscale, int) or not -3 <= pscale <= 2:
            raise ValueError(f"pscale {pscale!r} is out of range")
        by_handle = {c.handle: c for c in cast if c.id != actor.id}
        targets = []
        for h in obj.get("interrupt_targets") or []:
            key = str(h).strip("[] ").lower()
            if key not in by_handle:
                raise ValueError(f"interrupt target {h!r} is not a character of this frame")
            targets.append(by_handle[key].id)
        interruptive = bool(obj.get("interruptive")) and bool(targets)
        refined = str(obj.get("refined_text") or text).strip() or text.strip()
        return SoftAnalysis(
            pscale=pscale, timer_duration=window_seconds(pscale, overrides=overrides, time_scale=time_scale),
            interruptive=interruptive, interrupt_targets=targets if interruptive else [],
            refined_text=refined, source="llm", note=done.provider or None)
    except (TimeoutError, LLMError, MediumError, ValueError, KeyError, TypeError,
            json.JSONDecodeError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return fallback(text, actor, cast, overrides=overrides, time_scale=time_scale,
                        note=f"soft model failed ({reason[:200]})")
