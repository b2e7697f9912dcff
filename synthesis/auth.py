"""Supabase-shaped HS256 JWTs: claims ``sub``, ``role``, ``exp``, ``iat`` and ``aud``.

The same verification accepts tokens minted by Supabase Auth when given the project's JWT secret.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt

from synthesis.errors import Unauthorized

DEFAULT_TTL = 7 * 24 * 3600
AUDIENCE = "authenticated"


@dataclass(frozen=True)
class Claims:
    sub: UUID
    role: str
    exp: int
    raw: dict[str, Any]


def issue_token(secret: str, user_id: UUID, *, ttl: int = DEFAULT_TTL, now: float | None = None,
                email: str | None = None, role: str = "authenticated") -> str:
    iat = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id), "role": role, "aud": AUDIENCE, "iat": iat, "exp": iat + ttl,
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str | None) -> Claims:
    """Return the claims of a valid token or raise ``Unauthorized`` naming what is wrong."""
    if not token:
        raise Unauthorized("missing bearer token", field="authorization")
    try:
        raw = jwt.decode(token, secret, algorithms=["HS256"],
                         options={"require": ["sub", "exp"], "verify_aud": False})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token has expired", field="authorization") from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthorized("token signature is invalid", field="authorization") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"token is invalid: {exc}", field="authorization") from exc
    aud = raw.get("aud")
    if aud is not None and aud != AUDIENCE and AUDIENCE not in (aud if isinstance(aud, list) else []):
        raise Unauthorized(f"token audience {aud!r} is not {AUDIENCE!r}", field="authorization")
    try:
        sub = UUID(str(raw["sub"]))
    except ValueError as exc:
        raise Unauthorized("token subject is not a user id", field="authorization") from exc
    return Claims(sub=sub, role=str(raw.get("role", "authenticated")), exp=int(raw["exp"]), raw=raw)
