"""The rows a route plan names, and the helpers plans share (``synthesis/route.py``,
``synthesis/pacing.py``, ``synthesis/review.py``): split from ``route.py`` to keep it small.
Every row is what ``medium_apply_v2`` (or a GM apply function) reads, as dataclasses."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from synthesis.jsonsafe import jsonable as jsonable


@dataclass(frozen=True)
class Event:
    type: str
    ref_id: UUID
    audience: tuple[UUID, ...] | None  # None: every member of the frame


@dataclass(frozen=True)
class NewWindow:
    id: UUID
    character_id: UUID
    trigger_mode: str
    pscale: int
    opened_at: datetime
    due_at: datetime
    game_clock_at_open: int
    interrupt_reason: str | None = None
    interrupt_source_id: UUID | None = None


@dataclass(frozen=True)
class OutcomeRow:
    id: UUID
    window_id: UUID
    seq_offset: int  # seq = the frame's event_seq before the plan + this
    source_character_id: UUID
    actions_resolved: list[dict[str, Any]]
    world_facts: list[str]
    characters_involved: list[UUID]
    interrupts: list[dict[str, Any]]
    pscale: int
    game_clock: int
    narrator: str
    created_at: datetime
    redacted: int = 0


@dataclass(frozen=True)
class SolidRow:
    id: UUID
    window_id: UUID
    seq_offset: int
    character_id: UUID
    user_id: UUID | None
    narrative: str
    outcome_ids: list[UUID]
    source_liquid_ids: list[UUID]
    participant_user_ids: list[UUID]
    trigger_mode: str
    synthesis_pscale: int
    incorporated_through: int
    game_clock: int
    directive: str
    model: str
    narrator: str
    summarised: list[UUID]
    prompt_tokens: int
    completion_tokens: int
    llm_ms: float
    created_at: datetime


@dataclass(frozen=True)
class LiquidMove:
    id: UUID
    window_id: UUID
    timer_expires_at: datetime


@dataclass
class _Events:
    items: list[Event] = field(default_factory=list)

    def add(self, type_: str, ref_id: UUID, audience: Iterable[UUID] | None) -> int:
        """Append; returns the event's 1-based position (its seq offset)."""
        self.items.append(Event(type_, ref_id, None if audience is None else tuple(audience)))
        return len(self.items)


def new_id() -> UUID:
    return uuid.uuid4()
