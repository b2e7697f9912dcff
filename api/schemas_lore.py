"""Request and response shapes of the author and designer faces: lore entries, rules, the change log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from synthesis import lore
from synthesis.types import LoreEntry


class LoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=lore.TITLE_MAX)
    text: str = Field(max_length=lore.TEXT_MAX)
    keywords: list[str] = Field(default_factory=list, max_length=lore.KEYWORDS_MAX, description=(
        "whole words or phrases, case-insensitive; the entry enters a prompt when the action or "
        "the recent context names one"))
    visibility: str = Field(default="public", description=(
        "public | affiliation:<name> (members, hidden ones included) | character:<id, name or handle> | gm"))
    always: bool = Field(default=False, description="enter every prompt of the characters who may know it")


class LoreUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=lore.TITLE_MAX)
    text: str | None = Field(default=None, max_length=lore.TEXT_MAX)
    keywords: list[str] | None = Field(default=None, max_length=lore.KEYWORDS_MAX)
    visibility: str | None = None
    always: bool | None = None


class LorePublic(BaseModel):
    id: UUID
    frame_id: UUID
    title: str
    text: str
    keywords: list[str]
    visibility: str
    always: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None


def lore_public(e: LoreEntry) -> LorePublic:
    return LorePublic(id=e.id, frame_id=e.frame_id, title=e.title, text=e.body, keywords=list(e.keywords),
                      visibility=e.visibility, always=e.always, created_at=e.created_at, updated_at=e.updated_at)


class RulesPublic(BaseModel):
    pscale_windows: dict[str, float]
    perceive: bool
    perceive_seconds: float
    npc_budget_per_hour: int
    interrupt_policy: str
    review: bool
    outcome_mode: str
    prompt_budget: int | None = Field(description="null: MEDIUM_PROMPT_BUDGET applies")
    effective_prompt_budget: int


class ChangePublic(BaseModel):
    id: UUID
    seq: int
    kind: str
    changed_by: UUID | None
    detail: dict[str, Any]
    created_at: datetime | None = None
