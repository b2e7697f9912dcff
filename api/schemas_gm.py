"""Request and response schemas of the GM's controls (issue 15): pacing, narration, OOC chat."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas import Input
from synthesis.pacing import MAX_EXTEND_SECONDS
from synthesis.types import OocMessage
from synthesis.types_epistemic import Fact, KnowledgeOverride, Withheld


class Extend(Input):
    seconds: float = Field(gt=0, le=MAX_EXTEND_SECONDS, description="real seconds to add to the window")


class Ready(Input):
    character_id: UUID | None = Field(None, description="which of my characters (when I play several)")


class Narrate(Input):
    text: str = Field(min_length=1, max_length=4000, description="what happens, as the GM tells it")
    characters_involved: list[UUID] = Field(default_factory=list, max_length=50, description=(
        "characters the narration touches: each gets a perceive window"))
    world_facts: list[str] = Field(default_factory=list, max_length=20, description="facts now true for everyone")


class OocCreate(Input):
    text: str = Field(min_length=1, max_length=2000)


class OocPublic(BaseModel):
    id: UUID
    frame_id: UUID
    seq: int
    user_id: UUID | None
    role: Literal["player", "gm"]
    text: str
    created_at: datetime | None


def ooc_public(m: OocMessage) -> OocPublic:
    return OocPublic.model_validate(m.model_dump())


class ActionEdit(Input):
    character_id: UUID
    action: str = Field(min_length=1, max_length=2000)
    result: Literal["success", "partial", "failure", "interrupted"]


class OutcomeEdit(Input):
    world_facts: list[Annotated[str, Field(max_length=1000)]] | None = Field(None, max_length=20)
    actions_resolved: list[ActionEdit] | None = Field(None, max_length=20)


class KnowledgeChange(Input):
    """Exactly one of ``add`` (a fact this character now knows) and ``redact`` (a fact it knows,
    by its text or its id in the epistemic view, that it no longer knows)."""

    add: str | None = Field(default=None, max_length=2000)
    redact: str | None = Field(default=None, max_length=2000)


class EpistemicPublic(BaseModel):
    """One character's epistemic view: what it knows (each fact with its source), what is
    withheld from it and why, the GM's overrides of it, and its latest directive."""

    character_id: UUID
    name: str
    mode: Literal["personal", "shared"] = Field(description=(
        "the frame's narration: in a shared frame every prompt holds only what everyone present "
        "knows, and no character's overrides"))
    known: list[Fact]
    withheld: list[Withheld]
    overrides: list[KnowledgeOverride]
    directive: str
