"""Development defaults stay on this machine: the development JWT secret is refused on a public
interface, /metrics answers a token or loopback only, and CORS is off unless configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from synthesis.settings import DEV_JWT_SECRET, Settings, is_loopback
from tests.integration.api_support import running_api, settings

ROOT = Path(__file__).resolve().parents[2]


def medium(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"MEDIUM_JWT_SECRET", "DATABASE_URL"}}
    # An unreachable database: the refusal must come before anything touches one.
    environ.update(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", MEDIUM_LLM="scripted", **env)
    return subprocess.run([sys.executable, "-m", "workers", *args], env=environ, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [["api"], ["up", "--workers", "0"]])
def test_the_dev_secret_is_refused_on_a_public_interface(command: list[str]) -> None:
    done = medium(*command, "--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 2, done.stderr
    assert "refusing to bind 0.0.0.0" in done.stderr
    assert "MEDIUM_JWT_SECRET" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_refusal_is_about_the_secret_and_the_interface() -> None:
    dev = Settings(MEDIUM_JWT_SECRET=DEV_JWT_SECRET)
    real = Settings(MEDIUM_JWT_SECRET="a-real-secret-0123456789abcdef0123456789")
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        assert dev.dev_secret_on(host)
        assert real.dev_secret_on(host) is None
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.5", "[::1]"):
        assert dev.dev_secret_on(host) is None
        assert is_loopback(host)


async def _metrics(db_url: str, peer: str, headers: dict[str, str] | None = None, **overrides: str) -> httpx.Response:
    app = create_app(settings(db_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://medium.test") as c:
            return await c.get("/metrics", headers=headers or {})


async def test_metrics_without_a_token_answer_loopback_only(db_url: str) -> None:
    assert (await _metrics(db_url, "127.0.0.1")).status_code == 200
    r = await _metrics(db_url, "203.0.113.7")
    assert r.status_code == 403
    assert "MEDIUM_METRICS_TOKEN" in r.json()["error"]["message"]


async def test_metrics_with_a_token_need_it_from_everyone(db_url: str) -> None:
    token = {"MEDIUM_METRICS_TOKEN": "scrape-me-0123456789"}
    for peer in ("127.0.0.1", "203.0.113.7"):
        assert (await _metrics(db_url, peer, **token)).status_code == 401
        wrong = await _metrics(db_url, peer, {"Authorization": "Bearer nope"}, **token)
        assert wrong.status_code == 401
        assert "MEDIUM_METRICS_TOKEN" in wrong.json()["error"]["message"]
        assert "scrape-me" not in wrong.text
        ok = await _metrics(db_url, peer, {"Authorization": "Bearer scrape-me-0123456789"}, **token)
        assert ok.status_code == 200
        assert "medium_open_windows" in ok.text


async def test_cors_is_off_by_default_and_on_for_named_origins(db_url: str) -> None:
    preflight = {"Origin": "https://table.example", "Access-Control-Request-Method": "POST"}
    async with running_api(db_url) as api:
        r = await api.client.options("/frames", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
        r = await api.client.get("/health", headers={"Origin": "https://table.example"})
        assert "access-control-allow-origin" not in r.headers
    async with running_api(db_url, MEDIUM_CORS_ORIGINS="https://table.example, https://gm.example") as api:
        r = await api.client.options("/frames", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://table.example"
        r = await api.client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
