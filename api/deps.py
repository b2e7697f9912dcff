"""Dependency aliases (``Annotated[..., Depends()]``): everything comes from ``app.state``, which
the lifespan fills in. Nothing is constructed at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import sessions
from api.metrics import Metrics
from api.middleware import RateLimiter
from api.realtime import Gateway
from synthesis import auth
from synthesis.clock import Clock
from synthesis.errors import Forbidden, NotFound
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from synthesis.store import Connection
from synthesis.store_api import ApiStore

bearer = HTTPBearer(auto_error=False, description="Supabase-shaped HS256 JWT (claims sub, role, exp, aud)")


@dataclass(frozen=True)
class User:
    id: UUID
    claims: dict[str, Any]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_store(request: Request) -> ApiStore:
    return request.app.state.store  # type: ignore[no-any-return]


def get_registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def get_clock(request: Request) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


def get_limiter(request: Request) -> RateLimiter:
    return request.app.state.limiter  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ApiStore, Depends(get_store)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
ClockDep = Annotated[Clock, Depends(get_clock)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


async def current_user(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    """The bearer token's user. Missing, expired, forged or of a revoked session → 401
    (``Unauthorized``). A JWKS fetch runs off the loop (``Verifier.averify``)."""
    token = credentials.credentials if credentials else None
    verifier: auth.Verifier = request.app.state.verifier
    claims = await verifier.averify(token)
    await sessions.check_live(request.app.state.store, claims)
    return User(id=claims.sub, claims=claims.raw)


async def optional_user(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                        ) -> User | None:
    """``current_user`` when a bearer token is sent, else None (``/auth/join`` without one)."""
    if credentials is None:
        return None
    return await current_user(request, credentials)


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


async def require_member(st: ApiStore, user: User, frame_id: UUID) -> str:
    """The caller's role in the frame, read as the user (RLS). Not a member → 404: a frame you
    are not in is not visible."""
    async with st.as_user(user.id) as conn:
        role = await st.my_role(conn, frame_id)
    if role is None:
        raise NotFound("frame not found", field="frame_id")
    return role


def require_admin(user: User, settings: Settings, what: str = "changing the model registry") -> None:
    """Instance admins only (``MEDIUM_ADMIN_USERS``): a frame's GM is not one."""
    if user.id not in settings.admin_user_ids:
        raise Forbidden(f"{what} needs an instance admin (MEDIUM_ADMIN_USERS)", field="authorization")


@asynccontextmanager
async def gm_of(st: ApiStore, user_id: UUID, frame_id: UUID | None, *, what: str, field: str
                ) -> AsyncIterator[tuple[UUID, Connection]]:
    """The GM's transaction on the frame of a window or an outcome (``frame_id``, as looked up
    from it). One the caller cannot see (no such row, or not a member of its frame) is not
    found, named by ``field``, so the refusal does not reveal that it exists."""
    if frame_id is None:
        raise NotFound(f"{what} not found", field=field)
    try:
        async with st.as_gm(user_id, frame_id) as conn:
            yield frame_id, conn
    except NotFound as exc:
        if exc.field == "frame_id":
            raise NotFound(f"{what} not found", field=field) from None
        raise
