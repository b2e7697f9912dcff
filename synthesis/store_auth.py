"""The store's queries for invites, sessions and character requests (``synthesis/sql/auth.sql``).

``ApiStore`` inherits them. Every decision (may this invite be used, who joins, may this
refresh rotate) is ``synthesis.sessions``'s; these methods read and write the rows it names,
each group in one transaction, and emit a ``frame`` event when membership changes so every API
replica's gateway re-checks its sockets (a removed member's are closed with 4403).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from synthesis import errors, instance, sessions
from synthesis.store import Store, Tx
from synthesis.store_queries import _model
from synthesis.types import Row


class Invite(Row):
    id: UUID
    frame_id: UUID
    character_id: UUID | None
    for_user: UUID | None = None
    label: str
    created_by: UUID | None
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None

    def state(self) -> sessions.InviteState:
        return sessions.InviteState(self.revoked_at, self.expires_at, self.max_uses, self.uses)


class Session(Row):
    id: UUID
    frame_id: UUID
    user_id: UUID
    invite_id: UUID | None
    created_at: datetime
    refreshed_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class CharacterRequest(Row):
    id: UUID
    frame_id: UUID
    user_id: UUID
    invite_id: UUID | None
    body: dict[str, Any]
    status: str
    character_id: UUID | None
    note: str
    created_at: datetime
    decided_at: datetime | None


class AuthStore(Store):
    """``Store`` plus invites, sessions and character requests."""

    # --- invites -------------------------------------------------------------------------------

    async def create_invite(self, conn: Tx, frame_id: UUID, *, code: str, character_id: UUID | None,
                            label: str, created_by: UUID | None, now: datetime,
                            expires_at: datetime | None, max_uses: int | None,
                            for_user: UUID | None = None) -> Invite:
        row = await self._fetchrow("auth_insert_invite", frame_id, sessions.digest(code), character_id,
                                   label, created_by, now, expires_at, max_uses, for_user, conn=conn)
        return _model(Invite, row)

    async def list_invites(self, frame_id: UUID) -> list[Invite]:
        return [_model(Invite, r) for r in await self._fetch("auth_list_invites", frame_id)]

    async def invite_by_code(self, conn: Tx, code: str) -> Invite | None:
        row = await self._fetchrow("auth_invite_by_code", sessions.digest(code), conn=conn)
        return _model(Invite, row) if row else None

    async def use_invite(self, conn: Tx, invite: Invite) -> None:
        await self._fetchrow("auth_use_invite", invite.frame_id, invite.id, conn=conn)

    async def revoke_invite(self, conn: Tx, frame_id: UUID, invite_id: UUID, now: datetime) -> Invite:
        """The invite revoked, its sessions revoked, the players who joined by it removed."""
        row = await self._fetchrow("auth_revoke_invite", frame_id, invite_id, now, conn=conn)
        if row is None:
            raise errors.NotFound("invite not found", field="invite_id")
        await self._fetch("auth_revoke_invite_sessions", frame_id, invite_id, now, "invite revoked", conn=conn)
        for r in await self._fetch("auth_invite_players", frame_id, invite_id, conn=conn):
            await self._fetchrow("delete_member", frame_id, r["user_id"], conn=conn)
        await self.emit(conn, frame_id, [("frame", frame_id, None)])
        return _model(Invite, row)

    async def join(self, conn: Tx, invite: Invite, user_id: UUID) -> str:
        """``user_id`` joins the invite's frame as a player (a member keeps a higher role); a
        character invite's character becomes theirs. The invite counts one use. Returns the role."""
        await self._fetchval("api_ensure_user", user_id, None, conn=conn)
        member = await self._fetchrow("auth_join_member", invite.frame_id, user_id,
                                      None if invite.for_user else invite.id, conn=conn)
        if invite.character_id is not None:
            await self._fetchval("auth_set_character_user", invite.frame_id, invite.character_id, user_id,
                                 conn=conn)
        await self.use_invite(conn, invite)
        await self.emit(conn, invite.frame_id, [("frame", invite.frame_id, None)])
        return str(member["role"]) if member else "player"

    async def member(self, frame_id: UUID, user_id: UUID, *, conn: Tx | None = None) -> dict[str, Any] | None:
        row = await self._fetchrow("auth_member", frame_id, user_id, conn=conn)
        return dict(row) if row else None

    # --- sessions ------------------------------------------------------------------------------

    async def start_session(self, conn: Tx, frame_id: UUID, user_id: UUID, invite_id: UUID | None, *,
                            now: datetime, expires_at: datetime) -> tuple[Session, str]:
        """A new session and its first refresh token (shown once; stored as a hash)."""
        sid = uuid4()
        refresh = sessions.refresh_token(sid)
        row = await self._fetchrow("auth_insert_session", frame_id, sid, user_id, invite_id,
                                   sessions.digest(refresh), now, expires_at, conn=conn)
        return _model(Session, row), refresh

    async def session_revoked(self, frame_id: UUID, session_id: UUID) -> bool | None:
        """True: revoked; False: live; None: no such session."""
        return await self._fetchval("auth_session_revoked", frame_id, session_id)  # type: ignore[no-any-return]

    async def revoked_sessions(self, named: list[tuple[UUID, UUID]]) -> set[UUID]:
        """Of these ``(frame_id, session_id)`` pairs, the ids of the revoked sessions."""
        rows = await self._fetch("auth_revoked_sessions", [f for f, _ in named], [s for _, s in named])
        return {r["id"] for r in rows}

    async def refresh_session(self, refresh: str, now: datetime) -> tuple[Session, str]:
        """Rotate a refresh token: the session and its new refresh token. A rotated-out token
        presented again revokes its session (and is refused); other refusals are
        ``synthesis.sessions.refresh_refusal``'s."""
        hashed = sessions.digest(refresh)
        async with self.transaction() as conn:
            row = await self._fetchrow("auth_session_by_refresh", hashed, conn=conn)
            replayed = None if row else await self._fetchrow("auth_session_by_previous", hashed, conn=conn)
            current = _model(Session, row) if row else None
            state = sessions.SessionState(current.revoked_at, current.expires_at) if current else None
            refusal = sessions.refresh_refusal(state, replayed=replayed is not None, now=now)
            if refusal is None and current is not None:
                new = sessions.refresh_token(current.id)
                out = await self._fetchrow("auth_rotate_session", current.frame_id, current.id,
                                           sessions.digest(new), now, conn=conn)
                return _model(Session, out), new
        if replayed is not None:  # after the row locks are gone: revoking takes the frame lock first
            await self.revoke_session(replayed["frame_id"], replayed["id"], now, "refresh token replayed")
        raise refusal or errors.Unauthorized("unknown refresh token", field="refresh_token")

    async def revoke_session(self, frame_id: UUID, session_id: UUID, now: datetime, reason: str) -> None:
        """Revoke one session; a ``frame`` event then has every gateway close its sockets (4401)."""
        async with self.transaction(lock_frame=frame_id) as conn:
            if await self._fetchval("auth_revoke_session", frame_id, session_id, now, reason, conn=conn):
                await self.emit(conn, frame_id, [("frame", frame_id, None)])

    async def revoke_user_sessions(self, conn: Tx, frame_id: UUID, user_id: UUID, now: datetime,
                                   reason: str) -> int:
        return len(await self._fetch("auth_revoke_user_sessions", frame_id, user_id, now, reason, conn=conn))

    # --- instance settings --------------------------------------------------------------------

    async def instance_settings(self) -> instance.InstanceSettings:
        rows = await self._fetch("instance_settings")
        return instance.effective({r["key"]: r["value"] for r in rows})

    async def set_instance_settings(self, values: dict[str, Any], user_id: UUID, now: datetime
                                    ) -> instance.InstanceSettings:
        async with self.transaction() as conn:
            await self._fetchval("api_ensure_user", user_id, None, conn=conn)
            for key, value in values.items():
                await self._fetchval("set_instance_setting", key, value, user_id, now, conn=conn)
        return await self.instance_settings()

    # --- character requests --------------------------------------------------------------------

    async def insert_character_request(self, conn: Tx, frame_id: UUID, user_id: UUID,
                                       invite_id: UUID | None, body: dict[str, Any],
                                       now: datetime) -> CharacterRequest:
        row = await self._fetchrow("creq_insert", frame_id, user_id, invite_id, body, now, conn=conn)
        await self.emit(conn, frame_id, [("frame", frame_id, None)])
        return _model(CharacterRequest, row)

    async def character_requests(self, frame_id: UUID, user_id: UUID | None) -> list[CharacterRequest]:
        return [_model(CharacterRequest, r) for r in await self._fetch("creq_list", frame_id, user_id)]

    async def character_request(self, conn: Tx, frame_id: UUID, request_id: UUID) -> CharacterRequest:
        row = await self._fetchrow("creq_get", frame_id, request_id, conn=conn)
        if row is None:
            raise errors.NotFound("character request not found", field="request_id")
        return _model(CharacterRequest, row)

    async def decide_character_request(self, conn: Tx, frame_id: UUID, request_id: UUID, *, status: str,
                                       character_id: UUID | None, note: str, now: datetime,
                                       body: dict[str, Any] | None) -> CharacterRequest:
        row = await self._fetchrow("creq_decide", frame_id, request_id, status, character_id, note, now,
                                   body, conn=conn)
        if row is None:
            raise errors.Conflict("this request was already decided", field="request_id")
        await self.emit(conn, frame_id, [("frame", frame_id, None)])
        return _model(CharacterRequest, row)
