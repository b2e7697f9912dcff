"""Sessions from invites: ``POST /auth/join`` (an invite code for a session), ``POST
/auth/refresh`` (rotate the refresh token, a new access token) and ``POST /auth/logout``.

The decisions are ``synthesis.sessions``'s; a refused join or refresh writes nothing (a
replayed refresh token excepted: it revokes its session)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from fastapi import APIRouter, Response, status

from api import schemas_auth
from api.deps import ClockDep, CurrentUser, OptionalUser, SettingsDep, StoreDep
from synthesis import sessions
from synthesis.errors import Unauthorized
from synthesis.settings import Settings
from synthesis.store_auth import Session

router = APIRouter(prefix="/auth", tags=["auth"])


def _mints(settings: Settings) -> None:
    if settings.jwks_url:
        raise Unauthorized("this server verifies Supabase Auth tokens and mints none: sign in with "
                           "Supabase Auth, then join with your token", field="authorization")


@router.post("/join", response_model=schemas_auth.SessionPublic)
async def join(body: schemas_auth.JoinRequest, caller: OptionalUser, st: StoreDep, settings: SettingsDep,
               clock: ClockDep) -> schemas_auth.SessionPublic:
    """Exchange an invite code for a session. With a bearer token (e.g. a signed-in Supabase
    user) that user joins; without one a new user is made. A character invite plays its
    character (as the character's user when it has one)."""
    if caller is None:
        _mints(settings)
    now = clock.now()
    async with st.transaction() as conn:
        invite = await st.invite_by_code(conn, body.code)
        if invite is not None:  # read again under the frame lock every writer of invites holds
            await st.lock_frame(conn, invite.frame_id)
            invite = await st.invite_by_code(conn, body.code)
        refusal = sessions.invite_refusal(invite.state() if invite else None, now)
        if refusal is not None or invite is None:
            raise refusal or Unauthorized("no such invite", field="code")
        owner: UUID | None = invite.for_user
        if invite.character_id is not None:
            ch = await st.get_character(invite.frame_id, invite.character_id, conn=conn)
            owner = ch.user_id if ch else None
        user_id = sessions.joining_user(owner, caller.id if caller else None, uuid4())
        role = await st.join(conn, invite, user_id)
        if settings.jwks_url:
            return schemas_auth.SessionPublic(
                access_token=None, expires_in=None, refresh_token=None, session_id=None,
                frame_id=invite.frame_id, user_id=user_id, role=role, character_id=invite.character_id)
        session, refresh = await st.start_session(
            conn, invite.frame_id, user_id, invite.id, now=now,
            expires_at=now + timedelta(seconds=settings.medium_session_ttl))
    return _tokens(settings, session, refresh, role=role, character_id=invite.character_id, now=clock.now())


@router.post("/refresh", response_model=schemas_auth.SessionPublic)
async def refresh(body: schemas_auth.RefreshRequest, st: StoreDep, settings: SettingsDep,
                  clock: ClockDep) -> schemas_auth.SessionPublic:
    """A new access token and a new refresh token; the one sent stops working (sent again,
    it revokes the session)."""
    _mints(settings)
    token = sessions.parse_refresh(body.refresh_token)
    now = clock.now()
    session, new = await st.refresh_session(token, now)
    member = await st.member(session.frame_id, session.user_id)
    if member is None:
        await st.revoke_session(session.frame_id, session.id, now, "no longer a member")
        raise Unauthorized("no longer a member of this frame", field="refresh_token")
    return _tokens(settings, session, new, role=str(member["role"]), character_id=None, now=now)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(user: CurrentUser, st: StoreDep, clock: ClockDep) -> Response:
    """End the session the bearer token belongs to (a token without one: nothing to end)."""
    named = sessions.session_of(user.claims)
    if named is not None:
        await st.revoke_session(*named, clock.now(), "logged out")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _tokens(settings: Settings, session: Session, refresh: str, *, role: str, character_id: UUID | None,
            now: datetime) -> schemas_auth.SessionPublic:
    ttl = settings.medium_access_token_ttl
    access = sessions.access_token(settings.medium_jwt_secret.get_secret_value(), session.user_id,
                                   frame_id=session.frame_id, session_id=session.id, now=now, ttl=ttl)
    return schemas_auth.SessionPublic(access_token=access, expires_in=ttl, refresh_token=refresh,
                                      session_id=session.id, frame_id=session.frame_id,
                                      user_id=session.user_id, role=role, character_id=character_id)
