"""The epistemic view's models (issue 15): a GM's per-character knowledge overrides, and one
character's known and withheld facts. Re-exported by ``synthesis.types``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from synthesis.types import Knowledge, Row


class KnowledgeOverride(Row):
    """A GM's per-character change to what it knows: ``add`` a fact (``text``), or ``redact``
    one it would otherwise know (``fact_id``, as ``knowledge.epistemic`` names facts)."""

    id: UUID
    frame_id: UUID
    character_id: UUID
    kind: Literal["add", "redact"]
    text: str = ""
    fact_id: str | None = None
    created_at: datetime | None = None


class Fact(BaseModel):
    """One fact a character knows, and where it came from."""

    id: str
    fact: str
    layer: str  # universal, external, internal, membership, gm
    about: str
    source: str  # "own", "public", "affiliation:<name>" (known as a member), "gm_override"
    override_id: UUID | None = None  # a GM-added fact: the override that added it


class Withheld(BaseModel):
    """One fact kept from a character, and why (private, hidden, not_member, redacted)."""

    id: str
    fact: str
    layer: str
    about: str
    reason: str
    override_id: UUID | None = None  # redacted: the override that redacts it


class Epistemic(BaseModel):
    known: list[Fact] = Field(default_factory=list)
    withheld: list[Withheld] = Field(default_factory=list)
    knowledge: Knowledge
