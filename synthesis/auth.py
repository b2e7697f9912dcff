"""Supabase-shaped JWTs: claims ``sub``, ``role``, ``exp``, ``iat`` and ``aud``.

Two ways to verify, chosen by configuration (``Verifier.from_settings``):

* **JWKS** (``MEDIUM_JWKS_URL``, or ``SUPABASE_URL`` from which the path follows): asymmetric
  tokens (ES256, RS256) as current Supabase Auth signs them, the key picked by ``kid`` from
  the project's published key set (cached by PyJWT's ``PyJWKClient``). HS256 is refused then:
  a shared secret must not be a second way in.
* **HS256** with ``MEDIUM_JWT_SECRET``: the legacy Supabase secret, and self-hosted medium,
  whose CLI mints its own tokens (``issue_token``).

Either way ``aud`` must be ``authenticated`` (required with JWKS), ``iss`` must match when
configured, a small leeway absorbs clock skew, and a token whose ``role`` is not
``authenticated`` (``anon``, ``service_role``) is refused: every API route is a player's.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from synthesis.errors import Unauthorized

if TYPE_CHECKING:
    from synthesis.settings import Settings

DEFAULT_TTL = 7 * 24 * 3600
AUDIENCE = "authenticated"
ASYMMETRIC = ["ES256", "RS256"]
LEEWAY_SECONDS = 30
JWKS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Claims:
    sub: UUID
    role: str
    exp: int
    raw: dict[str, Any]


def issue_token(secret: str, user_id: UUID, *, ttl: int = DEFAULT_TTL, now: float | None = None,
                email: str | None = None, role: str = "authenticated",
                extra: dict[str, Any] | None = None) -> str:
    iat = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        **(extra or {}), "sub": str(user_id), "role": role, "aud": AUDIENCE, "iat": iat, "exp": iat + ttl,
    }
    if email:
        claims["email"] = email
    import jwt  # PyJWT (and cryptography under it) load on first use: a faster server start

    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str | None) -> Claims:
    """Verify an HS256 token with ``secret`` (see ``Verifier`` for JWKS)."""
    return Verifier(secret).verify(token)


class Verifier:
    """Verifies bearer tokens as the module doc says; one per process (the JWKS cache)."""

    def __init__(self, secret: str, *, jwks_url: str | None = None, issuer: str | None = None,
                 leeway: float = LEEWAY_SECONDS):
        self.secret = secret
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.leeway = leeway
        import jwt

        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS,
                                     timeout=5) if jwks_url else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        return cls(settings.medium_jwt_secret.get_secret_value(), jwks_url=settings.jwks_url,
                   issuer=settings.jwt_issuer)

    async def averify(self, token: str | None) -> Claims:
        """``verify`` off the event loop when a key set may have to be fetched."""
        if self._jwks is None:
            return self.verify(token)
        return await asyncio.to_thread(self.verify, token)

    def verify(self, token: str | None) -> Claims:
        """Return the claims of a valid token or raise ``Unauthorized`` naming what is wrong."""
        if not token:
            raise Unauthorized("missing bearer token", field="authorization")
        import jwt

        try:
            raw = self._decode(token)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token has expired", field="authorization") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized("token signature is invalid", field="authorization") from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthorized(f"token key not found in the JWKS: {exc}", field="authorization") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"token is invalid: {exc}", field="authorization") from exc
        aud = raw.get("aud")
        if aud is not None and aud != AUDIENCE and AUDIENCE not in (aud if isinstance(aud, list) else []):
            raise Unauthorized(f"token audience {aud!r} is not {AUDIENCE!r}", field="authorization")
        role = str(raw.get("role", AUDIENCE))
        if role != "authenticated":
            raise Unauthorized(f"token role {role!r} is not 'authenticated'", field="authorization")
        try:
            sub = UUID(str(raw["sub"]))
        except ValueError as exc:
            raise Unauthorized("token subject is not a user id", field="authorization") from exc
        return Claims(sub=sub, role=role, exp=int(raw["exp"]), raw=raw)

    def _decode(self, token: str) -> dict[str, Any]:
        import jwt

        require = ["sub", "exp", *(["iss"] if self.issuer else [])]
        if self._jwks is None:
            return jwt.decode(token, self.secret, algorithms=["HS256"], issuer=self.issuer, leeway=self.leeway,
                              options={"require": require, "verify_aud": False})
        alg = jwt.get_unverified_header(token).get("alg")
        if alg not in ASYMMETRIC:
            raise Unauthorized(f"token algorithm {alg!r} is refused: this server verifies Supabase Auth "
                               f"tokens ({', '.join(ASYMMETRIC)}) against its JWKS", field="authorization")
        key = self._jwks.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=ASYMMETRIC, audience=AUDIENCE, issuer=self.issuer,
                          leeway=self.leeway, options={"require": [*require, "aud"], "verify_aud": True})
