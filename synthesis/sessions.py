"""Invites and sessions, the decisions (pure; the store applies them).

* An **invite** is a code shown once (``/join/<code>``); only its SHA-256 is stored. It is for
  one character, or open (the player then asks for a character of their own). It may expire,
  have a use limit, or be revoked.
* A **session** is what a join starts: a short access token (``ACCESS_TTL``, 1 h by default)
  that names it (claims ``sid`` and ``fid``) and a refresh token (``<session id>.<secret>``,
  stored as a hash) that rotates on every use. A refresh token seen again after its rotation
  is a replay: the session is revoked.

Every function takes ``now``; nothing here reads a clock or the database.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from synthesis import auth
from synthesis.errors import Conflict, InvalidInput, NotFound, Unauthorized

ACCESS_TTL = 3600
SESSION_TTL = 14 * 24 * 3600
INVITE_TTL = 7 * 24 * 3600
CODE_BYTES = 12  # 16 URL-safe characters
CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_CODE = 64


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_code(code: object) -> str:
    """A well-formed invite code, or ``InvalidInput`` naming ``code``."""
    if not isinstance(code, str) or not code:
        raise InvalidInput("code is required", field="code")
    if len(code) > MAX_CODE or not set(code) <= CODE_CHARS:
        raise InvalidInput("code is not an invite code (letters, digits, - and _)", field="code")
    return code


@dataclass(frozen=True)
class InviteState:
    revoked_at: datetime | None
    expires_at: datetime | None
    max_uses: int | None
    uses: int


def invite_refusal(invite: InviteState | None, now: datetime) -> Exception | None:
    """Why this invite cannot be used now, or None."""
    if invite is None:
        return NotFound("no such invite", field="code")
    if invite.revoked_at is not None:
        return Unauthorized("this invite was revoked", field="code")
    if invite.expires_at is not None and invite.expires_at <= now:
        return Unauthorized("this invite has expired", field="code")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return Conflict("this invite has been used up", field="code")
    return None


def joining_user(character_user: UUID | None, caller: UUID | None, new_user: UUID) -> UUID:
    """Who a join plays as: a character invite makes its character's player (a character with
    none takes the caller, or a new user); an open invite takes the caller, or a new user."""
    if character_user is None:
        return caller or new_user
    if caller is not None and caller != character_user:
        raise Conflict("this invite is for a character another user plays", field="code")
    return character_user


def refresh_token(session_id: UUID) -> str:
    return f"{session_id}.{secrets.token_urlsafe(32)}"


def parse_refresh(token: object) -> str:
    """A well-formed refresh token (``<uuid>.<secret>``), or ``InvalidInput``."""
    if not isinstance(token, str) or not token:
        raise InvalidInput("refresh_token is required", field="refresh_token")
    sid, _, secret = token.partition(".")
    try:
        UUID(sid)
    except ValueError:
        raise Unauthorized("refresh_token is not a refresh token", field="refresh_token") from None
    if not secret or len(token) > 200:
        raise Unauthorized("refresh_token is not a refresh token", field="refresh_token")
    return token


@dataclass(frozen=True)
class SessionState:
    revoked_at: datetime | None
    expires_at: datetime


def refresh_refusal(session: SessionState | None, *, replayed: bool, now: datetime) -> Exception | None:
    """Why a refresh is refused (``replayed``: the token matched a rotated-out hash), or None."""
    if replayed:
        return Unauthorized("refresh token was already used; the session is revoked", field="refresh_token")
    if session is None:
        return Unauthorized("unknown refresh token", field="refresh_token")
    if session.revoked_at is not None:
        return Unauthorized("the session was revoked", field="refresh_token")
    if session.expires_at <= now:
        return Unauthorized("the session has expired; ask for a new invite", field="refresh_token")
    return None


def access_token(secret: str, user_id: UUID, *, frame_id: UUID, session_id: UUID, now: datetime,
                 ttl: int = ACCESS_TTL) -> str:
    return auth.issue_token(secret, user_id, ttl=ttl, now=now.timestamp(),
                            extra={"sid": str(session_id), "fid": str(frame_id)})


def session_of(claims: dict[str, Any]) -> tuple[UUID, UUID] | None:
    """``(frame_id, session_id)`` of an access token a join minted; None for other tokens
    (the CLI's, Supabase Auth's). A malformed pair is ``Unauthorized``."""
    sid, fid = claims.get("sid"), claims.get("fid")
    if sid is None and fid is None:
        return None
    try:
        return UUID(str(fid)), UUID(str(sid))
    except ValueError:
        raise Unauthorized("token names a malformed session", field="authorization") from None


def expiry(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)
