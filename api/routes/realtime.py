"""The WebSocket endpoint ``/frames/{id}/ws?token=…&since=<cursor>``; the gateway behind it
is ``api/realtime.py``. Without ``token`` in the URL the client sends it as its first message
(``api/ws_auth.py``)."""

from __future__ import annotations

import contextlib
import logging
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api import sessions, ws_auth
from api.realtime import CLOSE_BAD_TOKEN, CLOSE_NO_FRAME, CLOSE_NOT_MEMBER, Gateway
from synthesis import sessions as session_rules
from synthesis import store_api
from synthesis.errors import MediumError, Unauthorized

log = logging.getLogger(__name__)

router = APIRouter(tags=["realtime"])


@router.websocket("/frames/{frame_id}/ws")
async def frame_socket(websocket: WebSocket, frame_id: str, token: str | None = None,
                       since: str = "0") -> None:
    """Messages ``{type, cursor, data}``; see docs/API.md. Close codes: 4401 bad token, 4403 not
    a member, 4404 no such frame, 4408 too slow (reconnect with ``since``). No ``token``: the
    first message is ``{"type": "auth", "token": …}``."""
    state = websocket.app.state
    await websocket.accept()
    try:
        if token is None:
            token = await ws_auth.first_message_token(websocket, seconds=ws_auth.AUTH_SECONDS)
            if token is None:
                return  # the client went away
        claims = await state.verifier.averify(token)
        await sessions.check_live(state.store, claims)
    except Unauthorized as exc:
        await websocket.close(CLOSE_BAD_TOKEN, exc.message[:120])
        return
    except ws_auth.Refused as exc:
        await websocket.close(exc.code, exc.reason)
        return
    except MediumError:
        await websocket.close(1011, "server error: reconnect with since")
        return
    except (WebSocketDisconnect, OSError, RuntimeError):
        return  # the client went away
    try:
        fid = UUID(frame_id)
    except ValueError:
        await websocket.close(CLOSE_NO_FRAME, "no such frame")
        return
    if not since.isdigit():
        await websocket.close(1008, "since must be a non-negative integer cursor")
        return
    gateway: Gateway = state.gateway
    st: store_api.ApiStore = state.store
    try:
        frame = await st.get_frame(fid)
        if frame is None:
            await websocket.close(CLOSE_NO_FRAME, "no such frame")
            return
        role = await st.member_role(fid, claims.sub)
        if role is None:
            await websocket.close(CLOSE_NOT_MEMBER, "not a member of this frame")
            return
        # a cursor from the future (another database, a restore) would hide every event up to
        # it: such a client is treated as up to date instead
        await gateway.serve(websocket, fid, claims.sub, role, min(int(since), frame.event_seq),
                            session=session_rules.session_of(claims.raw))
    except MediumError as exc:
        log.warning("websocket failed", extra={"action": "ws_failed", "frame_id": frame_id, "error": str(exc)})
        with contextlib.suppress(Exception):
            await websocket.close(1011, "server error: reconnect with since")
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the client went away
