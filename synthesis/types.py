"""Pydantic models for the seed's interfaces and the rows the store returns.

Rows are frozen: a value read from the database is a snapshot, never mutated in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Pscale = int  # -3..2, see timing.PSCALE_GAME_SECONDS
Result = Literal["success", "partial", "failure", "interrupted"]
TriggerMode = Literal["expiry", "interrupt", "commit", "perceive"]
Mode = Literal["personal", "shared"]
# How a liquid's soft analysis was decided: the model, a classifier rule (the model not asked),
# the deterministic fallback (the model failed or none is configured), or given by the caller.
SoftSource = Literal["llm", "classifier", "fallback", "given"]
RESULTS: tuple[str, ...] = ("success", "partial", "failure", "interrupted")


class Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


# --- rows ------------------------------------------------------------------------------------


class Frame(Row):
    id: UUID
    name: str
    mode: Mode = "personal"
    world: str = ""
    scenario: str = ""
    pscale_windows: dict[str, float] = Field(default_factory=dict)
    perceive: bool = True
    perceive_seconds: float = 3.0  # a perceive window's real seconds, before the time scale
    outcome_mode: Literal["guarded", "blind"] = "guarded"  # synthesis/blind.py
    actor_budget_per_hour: int = 120
    actors_always: bool = False
    rules: dict[str, Any] = Field(default_factory=dict)  # synthesis/rules.py: the designer's rules
    clock_seconds: int = 0
    event_seq: int = 0
    paused_at: datetime | None = None  # paused by the GM since then (synthesis/pacing.py)
    review: bool = False  # outcomes wait for the GM's review (synthesis/review.py)
    created_at: datetime | None = None


class Character(Row):
    id: UUID
    frame_id: UUID
    name: str
    handle: str
    user_id: UUID | None = None
    universal: str = ""
    internal: str = ""
    external: str = ""
    model: str | None = None
    actions: list[dict[str, Any]] = Field(default_factory=list)
    idle_seconds: float | None = None

    @property
    def is_npc(self) -> bool:
        return self.user_id is None


class Affiliation(Row):
    id: UUID
    frame_id: UUID
    name: str
    universal: str = ""
    internal: str = ""
    external: str = ""


class Membership(Row):
    frame_id: UUID
    character_id: UUID
    affiliation_id: UUID
    hidden: bool = False


class Content(Row):
    id: UUID
    frame_id: UUID
    kind: str = "lore"
    body: str


class LoreEntry(Row):
    """A lorebook entry (a ``content`` row; synthesis/lore.py). ``visibility`` is ``public``,
    ``gm``, ``affiliation:<name>`` or ``character:<id>``."""

    id: UUID
    frame_id: UUID
    title: str = ""
    body: str
    keywords: list[str] = Field(default_factory=list)
    visibility: str = "public"
    always: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def text(self) -> str:
        return self.body


class Window(Row):
    id: UUID
    frame_id: UUID
    character_id: UUID
    seq: int = 0
    status: Literal["open", "claimed", "done", "failed", "cancelled"]
    trigger_mode: TriggerMode
    scope: Literal["character", "frame"] = "character"  # frame: shared mode's one window
    pscale: int
    opened_at: datetime
    due_at: datetime
    game_clock_at_open: int = 0
    interrupt_reason: str | None = None
    interrupt_source_id: UUID | None = None
    cancel_reason: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    lease_expires_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    completed_at: datetime | None = None
    paused_remaining: float | None = None  # frozen seconds left while the frame is paused


class LiquidEntry(Row):
    """A submitted action. Before commit it is visible intent; after commit it is binding."""

    id: UUID
    frame_id: UUID
    character_id: UUID
    user_id: UUID | None = None
    content: str
    refined_text: str | None = None
    pscale: int
    timer_duration: float
    interruptive: bool = False
    interrupt_targets: list[UUID] = Field(default_factory=list)
    soft_source: SoftSource = "fallback"
    soft_note: str | None = None
    status: Literal["submitted", "committed", "resolved", "withdrawn"] = "submitted"
    window_id: UUID | None = None
    submitted_at: datetime | None = None
    committed_at: datetime | None = None
    timer_expires_at: datetime | None = None
    resolved_at: datetime | None = None
    client_key: str | None = None


class OutcomeRow(Row):
    id: UUID
    frame_id: UUID
    window_id: UUID  # a GM narration's: its own id, never a window's
    seq: int
    source_character_id: UUID | None  # None: the GM's narration
    source: Literal["character", "gm"] = "character"
    narration: str | None = None  # the GM's text (source gm)
    held: bool = False  # waiting for the GM's review
    actions_resolved: list[dict[str, Any]] = Field(default_factory=list)
    world_facts: list[str] = Field(default_factory=list)
    characters_involved: list[UUID] = Field(default_factory=list)
    interrupts: list[dict[str, Any]] = Field(default_factory=list)
    pscale: int
    game_clock: int = 0
    narrator: str = ""
    redacted: int = 0
    created_at: datetime | None = None


class SolidRow(Row):
    id: UUID
    frame_id: UUID
    window_id: UUID
    seq: int
    character_id: UUID
    user_id: UUID | None = None
    narrative: str
    outcome_ids: list[UUID] = Field(default_factory=list)
    source_liquid_ids: list[UUID] = Field(default_factory=list)
    participant_user_ids: list[UUID] = Field(default_factory=list)
    trigger_mode: TriggerMode
    synthesis_pscale: int
    face: str = "player"
    incorporated_through: int = 0
    game_clock: int = 0
    directive: str = ""
    model: str = ""
    narrator: str = ""
    summarised: list[Any] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_ms: float = 0.0
    held: bool = False  # waiting for the GM's review, with its outcome
    created_at: datetime | None = None


class OocMessage(Row):
    """Out-of-character chat: never gathered, so never in a prompt."""

    id: UUID
    frame_id: UUID
    seq: int
    user_id: UUID | None = None
    role: Literal["player", "gm"]
    text: str
    created_at: datetime | None = None


class Event(Row):
    frame_id: UUID
    seq: int
    type: Literal["outcome", "narrative", "timer", "liquid", "frame", "ooc"]
    ref_id: UUID
    audience: list[UUID] | None = None


# --- the seed's synthesis interfaces ---------------------------------------------------------


class SoftAnalysis(BaseModel):
    """The cheap analysis of a submission (DESIGN §1 'soft')."""

    pscale: int = Field(ge=-3, le=2)
    timer_duration: float = Field(gt=0, description="real seconds until the window expires")
    interruptive: bool = False
    interrupt_targets: list[UUID] = Field(default_factory=list)
    refined_text: str = ""
    source: SoftSource = "fallback"
    note: str | None = None


class ResolvedAction(BaseModel):
    character_id: UUID
    action: str
    result: Result


class Interrupt(BaseModel):
    target_character_id: UUID
    reason: str = ""


class ActionOutcome(BaseModel):
    """The shared bones: who did what, in what order, with what result."""

    actions_resolved: list[ResolvedAction] = Field(default_factory=list)
    world_facts: list[str] = Field(default_factory=list)
    characters_involved: list[UUID] = Field(default_factory=list)
    interrupts: list[Interrupt] = Field(default_factory=list)


class ActionView(BaseModel):
    """An action as a Medium sees it (own or another character's)."""

    liquid_id: UUID
    character_id: UUID
    handle: str
    name: str
    text: str
    pscale: int
    status: str
    interruptive: bool = False
    interrupt_targets: list[str] = Field(default_factory=list)  # handles


class OutcomeView(BaseModel):
    outcome_id: UUID
    seq: int
    source_handle: str  # "gm": the GM's narration
    actions: list[dict[str, str]]  # {handle, action, result}
    world_facts: list[str]
    interrupts: list[dict[str, str]]  # {target, reason}
    game_clock: int
    narration: str = ""  # the GM's text (an outcome with source gm)


class RecallView(BaseModel):
    """An older item of the character's own history, recalled for this action (synthesis/recall.py)."""

    kind: Literal["narrative", "outcome"]
    seq: int
    narrative: str | None = None  # kind narrative: its own text
    outcome: OutcomeView | None = None  # kind outcome


class PersonView(BaseModel):
    """One character as another sees it, or as itself."""

    handle: str
    name: str
    universal: str = ""
    external: str = ""
    internal: str | None = None  # only ever set for the viewer itself
    affiliations: list[str] = Field(default_factory=list)  # public (or own) memberships, by name
    is_player: bool = False


class GroupView(BaseModel):
    name: str
    universal: str = ""
    external: str = ""
    internal: str | None = None  # only for the viewer's own affiliations
    member: bool = False
    hidden: bool = False  # the viewer's own membership is secret


class Knowledge(BaseModel):
    """Exactly what one character may know (DESIGN §4). Built only by knowledge.py."""

    me: PersonView
    others: list[PersonView] = Field(default_factory=list)
    groups: list[GroupView] = Field(default_factory=list)
    gm_facts: list[str] = Field(default_factory=list)  # added to this character by the GM


class MediumInput(BaseModel):
    frame_id: UUID
    window_id: UUID
    character_id: UUID
    handle: str
    trigger_mode: TriggerMode
    pscale: int
    mode: Mode = "personal"
    my_action: list[ActionView] = Field(default_factory=list)
    same_pscale_actions: list[ActionView] = Field(default_factory=list)
    stalled_actions: list[ActionView] = Field(default_factory=list)  # their window failed
    resolved_outcomes: list[OutcomeView] = Field(default_factory=list)
    history_summary: str = ""
    summarised_outcome_ids: list[UUID] = Field(default_factory=list)
    pending_higher_pscale: list[ActionView] = Field(default_factory=list)
    pending_other: list[ActionView] = Field(default_factory=list)
    world: str = ""
    scenario: str = ""
    content: list[str] = Field(default_factory=list)  # lore entries this character may know, ranked
    content_visibility: list[str] = Field(default_factory=list)  # each entry's visibility (synthesis/lore.py)
    game_clock: int = 0
    recent_narrative: list[str] = Field(default_factory=list)
    knowledge: Knowledge
    interrupt_reason: str | None = None
    interrupt_source: str | None = None  # handle
    handles: dict[str, UUID] = Field(default_factory=dict)  # every handle in the frame -> id
    incorporated_through: int = 0
    snapshot_seq: int = 0
    prompt_budget: int | None = None  # tokens (synthesis/budget.py); None: no cap
    recalled: list[RecallView] = Field(default_factory=list)  # own older history this action recalls
    memory: str = ""  # the character's latest memory summary (synthesis/memory.py)


class MediumOutput(BaseModel):
    outcome: ActionOutcome | None
    narrative: str
    outcomes_incorporated: list[UUID] = Field(default_factory=list)
    redacted: int = 0  # shared-layer texts the output guard dropped (DESIGN §4, the way out)
