"""The designer face (issue 16, item 5): a frame's rules, validated, edited live, logged.

A rule is either a column the frame already had (``pscale_windows``, ``perceive``,
``perceive_seconds``, ``outcome_mode``, ``review``, and the NPC budget, ``actor_budget_per_hour``)
or a key of ``frames.rules`` (``interrupt_policy``, ``prompt_budget``). ``RulesPatch`` is the body
of ``PATCH /frames/{id}/rules``; ``rules_of`` is what the GM view shows; ``diff`` is what the
change log records. Where each rule acts:

* ``pscale_windows``: ``timing.window_seconds`` (a new window's real duration per pscale);
* ``perceive``, ``perceive_seconds``: ``route.plan`` (perceive windows and their duration);
* ``npc_budget_per_hour``: the NPC actors' calls per hour (``workers/actors.py``);
* ``interrupt_policy``: ``allow`` (an outcome's interrupts cancel the target's window and wake
  it) or ``off`` (interrupts are recorded in the outcome, but cancel and wake no one; the target
  reads them at its next window), applied in ``route.plan``;
* ``review``: outcomes and their narratives wait for the GM's review (``synthesis/review.py``;
  the same setting as ``PATCH /frames/{id}``'s);
* ``outcome_mode``: ``guarded`` or ``blind`` (``synthesis/blind.py``);
* ``prompt_budget``: the frame's cap on a compiled prompt (``synthesis/budget.py``), overriding
  ``MEDIUM_PROMPT_BUDGET``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthesis import budget
from synthesis.timing import PSCALE_WINDOW_SECONDS
from synthesis.types import Frame

MAX_WINDOW_SECONDS = 7 * 86400
JSON_RULES = ("interrupt_policy", "prompt_budget")  # kept in frames.rules
InterruptPolicy = Literal["allow", "off"]
DEFAULTS: dict[str, Any] = {"interrupt_policy": "allow", "prompt_budget": None}


def check_pscale_windows(value: dict[str, float] | None) -> dict[str, float] | None:
    """Per-frame window overrides: keys are pscales -3..2, values positive seconds."""
    if value is None:
        return None
    out: dict[str, float] = {}
    for key, seconds in value.items():
        try:
            pscale = int(key)
        except ValueError:
            raise ValueError(f"pscale {key!r} is not an integer") from None
        if pscale not in PSCALE_WINDOW_SECONDS:
            raise ValueError(f"pscale {pscale} is not between -3 and 2")
        if not 0 < seconds <= MAX_WINDOW_SECONDS:
            raise ValueError(f"window for pscale {pscale} must be 0 < seconds <= {MAX_WINDOW_SECONDS}")
        out[str(pscale)] = float(seconds)
    return out


class RulesPatch(BaseModel):
    """Only the rules named change; unknown keys are refused, naming them."""

    model_config = ConfigDict(extra="forbid")

    pscale_windows: dict[str, float] | None = Field(default=None, description=(
        "per-pscale window overrides in real seconds, e.g. {\"-2\": 8}; replaces the frame's overrides"))
    perceive: bool | None = None
    perceive_seconds: float | None = Field(default=None, gt=0, le=3600)
    npc_budget_per_hour: int | None = Field(default=None, ge=0, le=100_000, description=(
        "NPC actor calls per hour for the frame"))
    interrupt_policy: InterruptPolicy | None = None
    review: bool | None = None
    outcome_mode: Literal["guarded", "blind"] | None = None
    prompt_budget: int | None = Field(default=None, ge=budget.MIN_PROMPT_BUDGET, le=budget.MAX_PROMPT_BUDGET)

    _windows = field_validator("pscale_windows")(check_pscale_windows)

    def json_part(self) -> dict[str, Any]:
        """The rules kept in ``frames.rules``, as set in this patch."""
        return {k: getattr(self, k) for k in JSON_RULES if k in self.model_fields_set and getattr(self, k) is not None}


def rules_of(frame: Frame) -> dict[str, Any]:
    """Every rule of a frame, defaults filled in (the GM view)."""
    stored = {k: frame.rules.get(k, v) for k, v in DEFAULTS.items()}
    return {"pscale_windows": dict(frame.pscale_windows), "perceive": frame.perceive,
            "perceive_seconds": frame.perceive_seconds, "npc_budget_per_hour": frame.actor_budget_per_hour,
            "outcome_mode": frame.outcome_mode, "review": frame.review, **stored}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{rule: {"from": old, "to": new}}`` for the rules that changed."""
    return {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}


def interrupt_policy(frame_rules: dict[str, Any] | None) -> InterruptPolicy:
    return "off" if (frame_rules or {}).get("interrupt_policy") == "off" else "allow"


def frame_edits(before: Frame, after: Frame) -> list[tuple[str, dict[str, Any]]]:
    """What one frame edit changed, as change-log rows ``(kind, detail)``: the world text, the
    scenario text (author face) and the rules (designer face)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for kind in ("world", "scenario"):
        old, new = getattr(before, kind), getattr(after, kind)
        if old != new:
            out.append((kind, {"from": old, "to": new}))
    changed = diff(rules_of(before), rules_of(after))
    if changed:
        out.append(("rules", changed))
    return out
