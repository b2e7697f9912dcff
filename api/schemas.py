"""Request and response schemas, in families (STYLE §9): ``XCreate`` / ``XUpdate`` / ``XPublic``.

The ``*_public`` serializers are the ONE place a row becomes what a client sees: REST returns
their models and the realtime gateway sends ``model_dump(mode="json")`` of the same models, so
a WebSocket message's ``data`` is exactly what REST returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from api.schemas_input import Input
from api.schemas_ops import (
    ConfigPublic,
    Directive,
    Health,
    LLMStats,
    Percentiles,
    StatsPublic,
    SupabaseClientConfig,
)
from synthesis.rules import check_pscale_windows
from synthesis.timing import format_game_clock
from synthesis.types import Character, Frame, LiquidEntry, OutcomeRow, SolidRow, Window

Name = Field(min_length=1, max_length=200)
Truth = Field(default="", max_length=4000)
Handle = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,31}$")
__all__ = ["ConfigPublic", "Directive", "Health", "Input", "LLMStats", "Percentiles", "StatsPublic",  # re-exported
           "SupabaseClientConfig"]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_input"])
    message: str = Field(examples=["content is empty"])
    field: str | None = Field(description="the input at fault", examples=["content"])


class ErrorResponse(BaseModel):
    """Every error response has this one shape."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in (
        (401, "missing, expired or forged token"), (403, "valid token, not allowed"),
        (404, "not found, or not visible to you"), (409, "conflicts with the current state"),
        (413, "request body over 64 KiB"), (422, "invalid input (field names it)"),
        (429, "rate limited; see Retry-After"), (503, "database unavailable"))}


# --- frames ----------------------------------------------------------------------------------


class FrameCreate(Input):
    name: str = Name
    mode: Literal["personal", "shared"] = "personal"
    world: str = Field(default="", max_length=20000)
    scenario: str = Field(default="", max_length=20000)
    pscale_windows: dict[str, float] = Field(default_factory=dict, examples=[{"-2": 5}])
    perceive: bool = True

    _windows = field_validator("pscale_windows")(check_pscale_windows)


class FrameUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    mode: Literal["personal", "shared"] | None = None
    world: str | None = Field(default=None, max_length=20000)
    scenario: str | None = Field(default=None, max_length=20000)
    pscale_windows: dict[str, float] | None = None
    perceive: bool | None = None
    perceive_seconds: float | None = Field(default=None, gt=0, le=3600, description=(
        "real seconds of a perceive window (an idle character narrating what happened around "
        "it), before the global time scale; default 3"))
    outcome_mode: Literal["guarded", "blind"] | None = Field(default=None, description=(
        "guarded: one call, the output guard checks the outcome; blind: the outcome is decided "
        "by a call that holds no private truth, the narrative by a second call"))
    review: bool | None = Field(default=None, description=(
        "hold every outcome and its narrative for the GM's approve / edit / reject"))

    _windows = field_validator("pscale_windows")(check_pscale_windows)


class FramePublic(BaseModel):
    id: UUID
    name: str
    mode: str
    world: str
    scenario: str
    pscale_windows: dict[str, float]
    perceive: bool
    perceive_seconds: float = 3.0
    outcome_mode: str = "guarded"
    clock_seconds: int
    clock: str = Field(description="in-fiction time, e.g. 'day 1, 00:10:30'")
    event_seq: int = Field(description="the frame's latest realtime cursor")
    my_role: Literal["gm", "player"]
    narrator: str
    paused: bool = Field(False, description="paused by the GM: the clock and every window are frozen")
    review: bool = Field(False, description="outcomes wait for the GM's review")
    paused_at: datetime | None = None


class MemberCreate(Input):
    user_id: UUID
    role: Literal["player", "gm"] = "player"


class MemberPublic(BaseModel):
    frame_id: UUID
    user_id: UUID
    role: str
    created_at: datetime | None = None


# --- characters and affiliations --------------------------------------------------------------


class CharacterCreate(Input):
    name: str = Name
    handle: str | None = Handle
    user_id: UUID | None = Field(default=None, description="the player; omit for an NPC")
    universal: str = Truth
    internal: str = Truth
    external: str = Truth
    model: str | None = Field(default=None, max_length=200, description="per-character model override")


class CharacterUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    handle: str | None = Handle
    user_id: UUID | None = None
    universal: str | None = Field(default=None, max_length=4000)
    internal: str | None = Field(default=None, max_length=4000)
    external: str | None = Field(default=None, max_length=4000)
    model: str | None = Field(default=None, max_length=200)


class CharacterPublic(BaseModel):
    id: UUID
    frame_id: UUID
    name: str
    handle: str
    user_id: UUID | None
    universal: str
    external: str
    internal: str | None = Field(default=None, description="only for its own player and the GM")
    model: str | None
    is_npc: bool
    affiliations: list[str] = Field(description="visible memberships, by affiliation name")


class AffiliationCreate(Input):
    name: str = Name
    universal: str = Truth
    internal: str = Truth
    external: str = Truth


class AffiliationUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    universal: str | None = Field(default=None, max_length=4000)
    internal: str | None = Field(default=None, max_length=4000)
    external: str | None = Field(default=None, max_length=4000)


class AffiliationPublic(BaseModel):
    id: UUID
    frame_id: UUID
    name: str
    universal: str
    external: str
    internal: str | None = Field(default=None, description="only for members and the GM")
    members: list[UUID] = Field(description="character ids of the memberships you may see")


class MembershipSet(Input):
    hidden: bool = False


class MembershipPublic(BaseModel):
    frame_id: UUID
    affiliation_id: UUID
    character_id: UUID
    hidden: bool


# --- models ----------------------------------------------------------------------------------


class ModelCreate(Input):
    name: str = Name
    provider: Literal["openai", "anthropic", "scripted"]
    model: str = Field(min_length=1, max_length=200)
    base_url: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=1000, description="stored encrypted, shown masked")
    role: Literal["soft", "medium", "actor"] | None = None


class ModelPublic(BaseModel):
    id: UUID
    name: str
    provider: str
    model: str
    base_url: str | None
    role: str | None
    api_key: str | None = Field(description="masked, e.g. 'sk-…abcd'")
    created_at: datetime | None = None


# --- liquid ----------------------------------------------------------------------------------


class LiquidCreate(Input):
    character_id: UUID
    content: str = Field(description="the action, 1 to 2000 characters")
    commit: bool = False
    pscale: int | None = Field(default=None, ge=-3, le=2,
                               description="optional: skip the soft analysis with a known scale")
    client_key: str | None = Field(
        default=None, description="optional idempotency key (1-128 of A-Z a-z 0-9 . _ : -): a retry "
                                  "with the same key returns the first submission (200) instead of "
                                  "adding a second action")


class LiquidUpdate(Input):
    content: str


class LiquidPublic(BaseModel):
    id: UUID
    frame_id: UUID
    character_id: UUID
    user_id: UUID | None
    content: str
    refined_text: str | None
    pscale: int
    timer_duration: float
    timer_expires_at: datetime | None
    interruptive: bool
    interrupt_targets: list[UUID]
    soft_source: str
    soft_note: str | None
    status: str
    window_id: UUID | None
    submitted_at: datetime | None
    committed_at: datetime | None
    resolved_at: datetime | None
    client_key: str | None = None


class IntentPublic(BaseModel):
    liquid_id: UUID
    character_id: UUID
    name: str
    content: str
    pscale: int
    status: str


# --- reading ---------------------------------------------------------------------------------


class OutcomePublic(BaseModel):
    id: UUID
    frame_id: UUID
    seq: int
    window_id: UUID
    source_character_id: UUID | None
    source: Literal["character", "gm"] = "character"
    narration: str | None = Field(None, description="the GM's text (source gm)")
    held: bool = Field(False, description="GM only: waiting for review (frame setting review)")
    actions_resolved: list[dict[str, Any]]
    world_facts: list[str]
    characters_involved: list[UUID]
    interrupts: list[dict[str, Any]]
    pscale: int
    game_clock: int
    clock: str
    narrator: str
    redacted: int | None = Field(None, description="GM only: shared-layer texts the output guard dropped")
    created_at: datetime | None


class NarrativePublic(BaseModel):
    id: UUID
    frame_id: UUID
    seq: int
    window_id: UUID
    character_id: UUID
    user_id: UUID | None
    narrative: str
    outcome_ids: list[UUID]
    source_liquid_ids: list[UUID]
    participant_user_ids: list[UUID]
    trigger_mode: str
    synthesis_pscale: int
    face: str
    game_clock: int
    clock: str
    narrator: str
    model: str
    held: bool = Field(False, description="GM only: waiting for review with its outcome")
    created_at: datetime | None


class TimerPublic(BaseModel):
    id: UUID
    frame_id: UUID
    character_id: UUID
    status: str
    trigger_mode: str
    pscale: int
    opened_at: datetime
    due_at: datetime
    remaining_seconds: float
    duration_seconds: float
    interrupt_reason: str | None
    interrupt_source_id: UUID | None
    cancel_reason: str | None
    last_error: str | None
    attempts: int
    completed_at: datetime | None
    paused: bool = Field(False, description="frozen: its frame is paused")


# --- serializers -----------------------------------------------------------------------------


def frame_public(f: Frame, *, role: str, narrator: str) -> FramePublic:
    return FramePublic(
        id=f.id, name=f.name, mode=f.mode, world=f.world, scenario=f.scenario,
        pscale_windows=f.pscale_windows, perceive=f.perceive, perceive_seconds=f.perceive_seconds,
        outcome_mode=f.outcome_mode,
        clock_seconds=f.clock_seconds,
        clock=format_game_clock(f.clock_seconds), event_seq=f.event_seq,
        my_role="gm" if role == "gm" else "player", narrator=narrator,
        paused=f.paused_at is not None, paused_at=f.paused_at, review=f.review)


def character_public(c: Character, *, affiliations: list[str], internal: str | None) -> CharacterPublic:
    return CharacterPublic(
        id=c.id, frame_id=c.frame_id, name=c.name, handle=c.handle, user_id=c.user_id,
        universal=c.universal, external=c.external, internal=internal, model=c.model,
        is_npc=c.user_id is None, affiliations=affiliations)


def liquid_public(x: LiquidEntry) -> LiquidPublic:
    return LiquidPublic.model_validate(x.model_dump())


def outcome_public(o: OutcomeRow, *, gm: bool = False) -> OutcomePublic:
    """An outcome as members read it; the redaction count only for the GM."""
    return OutcomePublic.model_validate({**o.model_dump(), "clock": format_game_clock(o.game_clock),
                                         "redacted": o.redacted if gm else None})


def narrative_public(s: SolidRow) -> NarrativePublic:
    return NarrativePublic.model_validate({**s.model_dump(), "clock": format_game_clock(s.game_clock)})


def timer_public(w: Window, now: datetime) -> TimerPublic:
    remaining = 0.0
    if w.status == "open":  # frozen while the frame is paused (synthesis/pacing.py)
        remaining = w.paused_remaining if w.paused_remaining is not None else max(
            0.0, (w.due_at - now).total_seconds())
    return TimerPublic.model_validate({
        **w.model_dump(), "remaining_seconds": round(remaining, 3),
        "paused": w.paused_remaining is not None,
        "duration_seconds": round((w.due_at - w.opened_at).total_seconds(), 3)})
