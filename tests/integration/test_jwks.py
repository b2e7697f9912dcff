"""Supabase Auth tokens: asymmetric (ES256, RS256) tokens verified against a JWKS served on a
real local socket, the key chosen by `kid`; HS256 refused while JWKS is configured and
accepted when it is not; `aud`, `iss` and `role` checked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from synthesis import auth
from tests.integration.api_support import cast_of, recv_json, running_api, serving, token

ISSUER = "http://127.0.0.1/auth/v1"
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(alg: Any, key: Any, kid: str, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(alg.to_jwk(key.public_key()))
    return {**doc, "kid": kid, "alg": name, "use": "sig"}


class JwksServer:
    """Serves `{"keys": [...]}` like Supabase's `/auth/v1/.well-known/jwks.json`."""

    def __init__(self) -> None:
        keys = {"keys": [_jwk(ECAlgorithm, EC_KEY, "ec-1", "ES256"), _jwk(RSAAlgorithm, RSA_KEY, "rsa-1", "RS256")]}
        body = json.dumps(keys).encode()
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/auth/v1/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


def signed(user: UUID, *, key: Any = EC_KEY, alg: str = "ES256", kid: str = "ec-1", **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": str(user), "role": "authenticated", "aud": "authenticated", "iss": ISSUER,
            "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


async def test_supabase_tokens_are_accepted_and_hs256_refused_with_jwks(db_url: str, jwks: JwksServer) -> None:
    async with running_api(db_url, MEDIUM_JWKS_URL=jwks.url, MEDIUM_JWT_ISSUER=ISSUER) as api:
        cast = await cast_of(api.st)
        alda = cast.users["Alda"]
        assert alda

        async def status(tok: str) -> tuple[int, str]:
            r = await api.client.get(f"/frames/{cast.frame_id}", headers={"Authorization": f"Bearer {tok}"})
            return r.status_code, r.text

        assert (await status(signed(alda)))[0] == 200
        assert (await status(signed(alda, key=RSA_KEY, alg="RS256", kid="rsa-1")))[0] == 200
        code, text = await status(token(alda))  # HS256 with the shared secret
        assert code == 401
        assert "'HS256' is refused" in text
        refusals = {
            "unknown kid": (signed(alda, kid="nope"), "JWKS"),
            "wrong audience": (signed(alda, aud="somebody-else"), "audience"),
            "wrong issuer": (signed(alda, iss="http://evil.example/auth/v1"), "issuer"),
            "anon role": (signed(alda, role="anon"), "role 'anon'"),
            "service role": (signed(alda, role="service_role"), "role 'service_role'"),
            "expired": (signed(alda, exp=int(time.time()) - 120), "expired"),
            "another key, same kid": (signed(alda, key=ec.generate_private_key(ec.SECP256R1())), "signature"),
        }
        for label, (tok, reason) in refusals.items():
            code, text = await status(tok)
            assert code == 401, (label, text)
            assert reason.lower() in text.lower(), (label, text)
        # Within the leeway, a token that just expired still passes (clock skew).
        assert (await status(signed(alda, exp=int(time.time()) - 5)))[0] == 200

        async with serving(api.app) as base:
            url = f"{base.replace('http', 'ws', 1)}/frames/{cast.frame_id}/ws?since=0&token="
            async with connect(url + signed(alda)) as ws:  # accepted: open, nothing to say yet
                with pytest.raises(TimeoutError):
                    await recv_json(ws, timeout=0.5)
            async with connect(url + token(alda)) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await recv_json(ws)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4401
        assert jwks.hits >= 1


async def test_without_jwks_hs256_is_the_way_in(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        alda = cast.users["Alda"]
        assert alda
        ok = await api.client.get(f"/frames/{cast.frame_id}", headers={"Authorization": f"Bearer {token(alda)}"})
        assert ok.status_code == 200
        es = await api.client.get(f"/frames/{cast.frame_id}", headers={"Authorization": f"Bearer {signed(alda)}"})
        assert es.status_code == 401
        assert "invalid" in es.text


def test_supabase_url_gives_the_jwks_path_and_issuer() -> None:
    from synthesis.settings import Settings

    s = Settings(SUPABASE_URL="https://abc.supabase.co/")
    assert s.jwks_url == "https://abc.supabase.co/auth/v1/.well-known/jwks.json"
    assert s.jwt_issuer == "https://abc.supabase.co/auth/v1"
    assert Settings().jwks_url is None
    assert auth.Verifier.from_settings(s).jwks_url == s.jwks_url
