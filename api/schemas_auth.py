"""Schemas of invites, sessions and character requests (``api/routes/auth.py``,
``api/routes/invites.py``, ``api/routes/requests.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas import Input
from synthesis import sessions


class JoinRequest(Input):
    code: str = Field(min_length=1, max_length=sessions.MAX_CODE, pattern=r"^[A-Za-z0-9_-]+$",
                      description="the code of a /join/<code> link")


class RefreshRequest(Input):
    refresh_token: str = Field(min_length=1, max_length=200)


class SessionPublic(BaseModel):
    """A session's tokens: keep the access token out of URLs (the web client keeps both in
    sessionStorage). ``access_token`` is null when the caller joined with its own Supabase
    Auth token, which it keeps using."""

    access_token: str | None
    token_type: str = "bearer"  # noqa: S105  the OAuth token type, not a secret
    expires_in: int | None
    refresh_token: str | None
    session_id: UUID | None
    frame_id: UUID
    user_id: UUID
    role: str
    character_id: UUID | None = Field(description="the character this invite is for; null: an open invite")


class InviteCreate(Input):
    character_id: UUID | None = Field(default=None, description="omit for an open invite")
    label: str = Field(default="", max_length=200)
    expires_in: int | None = Field(default=sessions.INVITE_TTL, ge=60, le=365 * 86400,
                                   description="seconds; null: never expires")
    max_uses: int | None = Field(default=None, ge=1, le=10000, description="null: unlimited")


class InvitePublic(BaseModel):
    id: UUID
    frame_id: UUID
    character_id: UUID | None
    label: str
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None
    code: str | None = Field(default=None, description="shown once, when the invite is made")
    path: str | None = Field(default=None, description="/join/<code>, shown once")


class CharacterRequestCreate(Input):
    """A character a player proposes: validated like a scenario file's character."""

    name: str = Field(min_length=1, max_length=200)
    universal: str = Field(default="", max_length=4000)
    internal: str = Field(default="", max_length=4000)
    external: str = Field(default="", max_length=4000)
    affiliations: list[Any] = Field(default_factory=list, max_length=50,
                                    description="names, or {name, hidden} for a secret membership")


class CharacterRequestDecision(Input):
    note: str = Field(default="", max_length=2000)
    edits: CharacterRequestCreate | None = Field(default=None, description="approve: the GM's version")


class CharacterRequestPublic(BaseModel):
    id: UUID
    frame_id: UUID
    user_id: UUID
    body: dict[str, Any]
    status: str
    character_id: UUID | None
    note: str
    created_at: datetime
    decided_at: datetime | None
