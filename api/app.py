"""The FastAPI application: ``create_app(settings, *, pool=None, llm=None, clock=None)``.

Nothing is built at import. The lifespan fills in what the caller did not inject: a pool
(``DATABASE_URL``), an LLM ``Registry`` and a ``SystemClock``; it starts the realtime gateway
and closes, on shutdown, only what it created.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api import errors, realtime
from api.metrics import Metrics
from api.middleware import MAX_BODY_BYTES, BodyLimit, RateLimiter, Timing
from api.routes import (
    admin,
    affiliations,
    cards,
    characters,
    epistemic,
    frames,
    gm,
    invites,
    liquid,
    lore,
    memory,
    models,
    narration,
    ooc,
    pacing,
    plumbing,
    reading,
    requests,
    review,
    rules,
    transcript,
)
from api.routes import auth as auth_routes
from api.routes import realtime as realtime_routes
from api.schemas import ERROR_RESPONSES
from synthesis import auth, installed, store, store_api
from synthesis.clock import Clock, SystemClock
from synthesis.errors import DatabaseUnavailable, NotFound
from synthesis.llm.registry import Registry
from synthesis.settings import Settings

# The web client: ``api/_web/`` in a built install (copied there from ``web/``), else the checkout's.
WEB_DIR = installed.data_dir("api", "_web", "web")
POOL_SIZE = 20

DESCRIPTION = """Multiplayer roleplay narrated by AI: shared outcomes, personal narratives.

Auth: `Authorization: Bearer <jwt>` (HS256, Supabase-shaped claims). Every error is
`{"error": {"code", "message", "field"}}`. Realtime: `WS /frames/{id}/ws?token=…&since=<cursor>`
sends `{type, cursor, data}` messages (see docs/API.md)."""


def create_app(settings: Settings, *, pool: Any = None, llm: Registry | None = None,
               clock: Clock | None = None, web_dir: Path = WEB_DIR) -> FastAPI:
    """``pool``: an asyncpg pool from ``synthesis.store.create_pool`` (else one is created from
    ``settings.database_url``); ``llm``: a ``Registry``; ``clock``: a ``Clock``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_pool = pool is None
        if own_pool and not settings.database_url:
            raise DatabaseUnavailable("DATABASE_URL is not set")
        the_pool = pool if pool is not None else await store.create_pool(
            settings.database_url or "", max_size=POOL_SIZE)
        registry = llm if llm is not None else Registry(settings)
        the_clock = clock if clock is not None else SystemClock()
        st = store_api.ApiStore(the_pool)
        gateway = realtime.Gateway(st, dsn=settings.database_url, narrator=registry.label,
                                   now=the_clock.now)
        app.state.store, app.state.registry, app.state.clock = st, registry, the_clock
        app.state.gateway = gateway
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()
            await app.state.metrics.aclose()
            if llm is None:
                await registry.aclose()
            if own_pool:
                await the_pool.close()

    app = FastAPI(title="medium", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = Metrics(settings.database_url)
    app.state.verifier = auth.Verifier.from_settings(settings)
    app.state.limiter = RateLimiter(settings.medium_rate_limit, settings.medium_rate_burst)
    errors.install(app)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, larger=((cards.CARD_PATH, cards.CARD_MAX_BYTES),))
    app.add_middleware(Timing, observe=app.state.metrics.observe)
    if settings.cors_origins:  # off unless MEDIUM_CORS_ORIGINS names the origins
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.include_router(plumbing.router)
    for module in (frames, cards, characters, affiliations, models, liquid, reading, gm, epistemic, pacing,
                   narration, ooc, review, lore, memory, rules, transcript, invites, auth_routes, requests, admin):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(realtime_routes.router)
    _static(app, web_dir)
    return app


def _static(app: FastAPI, web_dir: Path) -> None:
    """The player client at ``/`` and the GM view at ``/gm`` (web/, when present)."""

    def page(name: str) -> Any:
        async def serve() -> FileResponse:
            path = web_dir / name
            if not path.is_file():
                raise NotFound(f"{name} is not installed", field="path")
            return FileResponse(path, media_type="text/html")
        return serve

    app.add_api_route("/", page("index.html"), methods=["GET"], include_in_schema=False)
    app.add_api_route("/gm", page("gm.html"), methods=["GET"], include_in_schema=False)
    # an invite link: the player page exchanges the code (POST /auth/join) and replaces the URL
    app.add_api_route("/join/{code}", page("index.html"), methods=["GET"], include_in_schema=False)
    if web_dir.is_dir():
        app.mount("/static", StaticFiles(directory=web_dir), name="static")


class RedactTokens(logging.Filter):
    """WebSocket URLs may carry ``?token=`` and invite links ``/join/<code>``: keep both out of
    the server's logs (uvicorn logs paths)."""

    PATTERN = re.compile(r"(token=)[^&\s\"']+")
    JOIN = re.compile(r"(/join/)[A-Za-z0-9_-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message or "/join/" in message:
            message = self.JOIN.sub(r"\1[redacted]", self.PATTERN.sub(r"\1[redacted]", message))
            record.msg, record.args = message, None
        return True


def redact_tokens_in_server_logs() -> None:
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactTokens())
