"""Where a request's token meets the sessions table: an access token a join minted (claims
``sid``, ``fid``) is refused as soon as its session is revoked, on REST and on the WebSocket.
Tokens without a session (the CLI's, Supabase Auth's) are verified as before."""

from __future__ import annotations

from synthesis import auth, sessions
from synthesis.errors import Unauthorized
from synthesis.store_api import ApiStore


async def check_live(st: ApiStore, claims: auth.Claims) -> None:
    """``Unauthorized`` when the token names a session that is revoked or unknown."""
    named = sessions.session_of(claims.raw)
    if named is None:
        return
    revoked = await st.session_revoked(*named)
    if revoked is None:
        raise Unauthorized("token names an unknown session", field="authorization")
    if revoked:
        raise Unauthorized("the session was revoked", field="authorization")
