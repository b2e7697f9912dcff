"""Helpers for API tests: an app with its lifespan running against a real database, tokens,
row counts, and a real in-process uvicorn server for WebSocket tests."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from synthesis import auth, store, store_api
from synthesis.settings import Settings
from tests.integration.helpers import Cast, make_frame

SECRET = "api-test-secret-0123456789abcdef0123456789"
PLAY_TABLES = ("frames", "frame_members", "characters", "affiliations", "memberships", "windows",
               "liquid", "outcomes", "solid", "events", "models", "auth.users")


def settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"DATABASE_URL": db_url, "MEDIUM_JWT_SECRET": SECRET, "MEDIUM_LLM": "scripted",
                              "MEDIUM_SOFT_LLM": None, "MEDIUM_TIME_SCALE": 1.0}
    values.update(overrides)
    return Settings(**values)


def token(user_id: UUID, **kw: Any) -> str:
    return auth.issue_token(SECRET, user_id, **kw)


def bearer(user_id: UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id)}"}


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def st(self) -> store_api.ApiStore:
        return self.app.state.store  # type: ignore[no-any-return]


@asynccontextmanager
async def running_api(db_url: str, *, clock: Any = None, **overrides: Any) -> AsyncIterator[Api]:
    app = create_app(settings(db_url, **overrides), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://medium.test") as client:
            yield Api(app, client)


async def row_counts(st: store.Store) -> dict[str, int]:
    out: dict[str, int] = {}
    async with st.pool.acquire() as conn:
        for t in PLAY_TABLES:
            name = t if "." in t else f"public.{t}"
            out[t] = await conn.fetchval(f"SELECT count(*) FROM {name}")
        out["frames.event_seq"] = await conn.fetchval("SELECT coalesce(sum(event_seq), 0) FROM public.frames")
    return out


async def liquid_states(st: store.Store) -> list[tuple[Any, ...]]:
    async with st.pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, status, content, window_id FROM public.liquid ORDER BY id")
    return [tuple(r) for r in rows]


def two_players(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Api", "mode": "personal", "world": "A cantina.", "scenario": "Quiet night.",
        "perceive": False, "pscale_windows": {-2: 5, -1: 15},
        "affiliations": [{"name": "Cell", "universal": "A cell.", "internal": "CELL-SECRET",
                          "external": "Nobody."}],
        "characters": [
            {"name": "Alda", "player": "a", "universal": "A fighter.", "internal": "ALDA-SECRET",
             "external": "Tall.", "affiliations": [{"name": "Cell", "hidden": True}]},
            {"name": "Brix", "player": "b", "universal": "A guard.", "internal": "BRIX-SECRET",
             "external": "Stocky."},
            {"name": "Zed", "universal": "A droid.", "internal": "ZED-SECRET", "external": "Beeps."},
        ],
        **extra,
    }


async def cast_of(st: store.Store, **extra: Any) -> Cast:
    return await make_frame(st, two_players(**extra))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with a real uvicorn on a free port; yields the base URL (http://…)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="on",
                            log_level="warning", ws_ping_interval=20)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def ws_url(base: str, frame_id: UUID, user_id: UUID | None, since: int = 0, *, raw_token: str | None = None) -> str:
    tok = raw_token if raw_token is not None else (token(user_id) if user_id else "")
    return f"{base.replace('http', 'ws', 1)}/frames/{frame_id}/ws?token={tok}&since={since}"


async def recv_json(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


def new_user() -> UUID:
    return uuid.uuid4()
