"""The decisions of invites, sessions and instance settings (synthesis/sessions.py,
synthesis/instance.py) and the WebSocket's inbound limits (api/ws_auth.py): pure, with an
injected clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import ws_auth
from synthesis import instance, sessions
from synthesis.errors import Conflict, InvalidInput, NotFound, Unauthorized

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@given(revoked=st.booleans(), expires=st.none() | st.integers(-100, 100), max_uses=st.none() | st.integers(1, 5),
       uses=st.integers(0, 6))
def test_an_invite_is_usable_exactly_when_no_rule_refuses_it(revoked: bool, expires: int | None,
                                                              max_uses: int | None, uses: int) -> None:
    until = None if expires is None else NOW + timedelta(seconds=expires)
    state = sessions.InviteState(NOW if revoked else None, until, max_uses, uses)
    refusal = sessions.invite_refusal(state, NOW)
    usable = not revoked and (expires is None or expires > 0) and (max_uses is None or uses < max_uses)
    assert (refusal is None) == usable
    if revoked:
        assert isinstance(refusal, Unauthorized)
        assert "revoked" in refusal.message  # revocation is named first, whatever else holds
    if refusal is not None:
        assert refusal.field == "code"  # type: ignore[attr-defined]


def test_an_unknown_invite_is_not_found() -> None:
    assert isinstance(sessions.invite_refusal(None, NOW), NotFound)


def test_who_a_join_plays_as() -> None:
    owner, caller, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert sessions.joining_user(None, None, new) == new  # an open invite, no token: a new user
    assert sessions.joining_user(None, caller, new) == caller  # a signed-in user (Supabase Auth)
    assert sessions.joining_user(owner, None, new) == owner  # a character invite: its player
    assert sessions.joining_user(owner, owner, new) == owner
    with pytest.raises(Conflict):
        sessions.joining_user(owner, caller, new)  # not another user's character


def test_refresh_refusals_name_the_reason() -> None:
    live = sessions.SessionState(None, NOW + timedelta(days=1))
    assert sessions.refresh_refusal(live, replayed=False, now=NOW) is None
    for state, replayed, says in ((live, True, "already used"), (None, False, "unknown"),
                                  (sessions.SessionState(NOW, NOW + timedelta(days=1)), False, "revoked"),
                                  (sessions.SessionState(None, NOW), False, "expired")):
        refusal = sessions.refresh_refusal(state, replayed=replayed, now=NOW)
        assert isinstance(refusal, Unauthorized)
        assert says in refusal.message


@pytest.mark.parametrize("token", ["", "abc", "not-a-uuid.secret", f"{uuid.uuid4()}.", "x" * 300])
def test_malformed_refresh_tokens(token: str) -> None:
    with pytest.raises((InvalidInput, Unauthorized)):
        sessions.parse_refresh(token)


def test_a_refresh_token_names_its_session_and_is_stored_as_a_hash() -> None:
    sid = uuid.uuid4()
    tok = sessions.refresh_token(sid)
    assert sessions.parse_refresh(tok) == tok
    assert tok.startswith(f"{sid}.")
    assert sessions.digest(tok) != tok
    assert len(sessions.digest(tok)) == 64


def test_access_tokens_carry_their_session_and_a_short_life() -> None:
    user, frame, sid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    tok = sessions.access_token("s" * 40, user, frame_id=frame, session_id=sid, now=NOW)
    claims = jwt.decode(tok, "s" * 40, algorithms=["HS256"], audience="authenticated",
                        options={"verify_exp": False, "verify_iat": False})
    assert claims["exp"] - claims["iat"] == sessions.ACCESS_TTL == 3600
    assert sessions.session_of(claims) == (frame, sid)
    assert sessions.session_of({"sub": str(user)}) is None  # the CLI's tokens have no session
    with pytest.raises(Unauthorized):
        sessions.session_of({"sid": "x", "fid": "y"})


@pytest.mark.parametrize("code", ["", "a b", "a/b", "é", "x" * 65, "code%00"])
def test_malformed_codes(code: str) -> None:
    with pytest.raises(InvalidInput):
        sessions.check_code(code)


def test_invite_codes_are_fresh_and_well_formed() -> None:
    codes = {sessions.new_code() for _ in range(100)}
    assert len(codes) == 100
    assert all(sessions.check_code(c) == c and len(c) == 16 for c in codes)


def test_instance_settings_rules() -> None:
    default = instance.effective({})
    assert instance.may_create_frame(default, admin=False)
    closed = instance.effective({"frame_creation": "admins", "open_invites": False, "from_the_future": 1})
    assert not instance.may_create_frame(closed, admin=False)
    assert instance.may_create_frame(closed, admin=True)
    assert not instance.may_open_invite(closed, admin=False)
    assert instance.may_open_invite(closed, admin=True)


def test_the_flood_bucket_with_an_injected_clock() -> None:
    t = [0.0]
    flood = ws_auth.Flood(rate=5, burst=3, now=lambda: t[0])
    assert [flood.spend() for _ in range(4)] == [True, True, True, False]
    t[0] += 0.2  # one message's worth of refill
    assert [flood.spend(), flood.spend()] == [True, False]
    t[0] += 100
    assert all(flood.spend() for _ in range(3))


@pytest.mark.parametrize(("text", "says"), [("hi", "first message"), ('{"type": "auth"}', "no token"),
                                            ('{"type": "auth", "token": ""}', "no token"), ("[]", "first message")])
def test_bad_first_messages(text: str, says: str) -> None:
    with pytest.raises(Unauthorized) as err:
        ws_auth.auth_token(text)
    assert says in err.value.message
    assert ws_auth.auth_token('{"type": "auth", "token": "a.b.c"}') == "a.b.c"
