"""Health, Prometheus metrics and the public client configuration."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api import schemas
from api.deps import GatewayDep, MetricsDep, RegistryDep, SettingsDep, StoreDep
from synthesis.errors import Forbidden, MediumError, Unauthorized
from synthesis.settings import Settings, is_loopback

router = APIRouter(tags=["plumbing"])
HEALTH_TIMEOUT = 2.0


@router.get("/health", response_model=schemas.Health,
            responses={503: {"model": schemas.Health, "description": "the database is unavailable"}})
async def health(st: StoreDep) -> JSONResponse:
    try:
        await asyncio.wait_for(st.ping(), HEALTH_TIMEOUT)
    except (MediumError, TimeoutError):
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def _may_scrape(request: Request, settings: Settings) -> None:
    """With ``MEDIUM_METRICS_TOKEN`` set, the scraper sends it as a bearer token; without it,
    only loopback peers are answered (a reverse proxy on the same host counts as loopback: set
    the token when one is in front)."""
    token = settings.medium_metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 token.get_secret_value().encode()):
            raise Unauthorized("/metrics needs Authorization: Bearer <MEDIUM_METRICS_TOKEN>")
        return
    peer = request.client.host if request.client else ""
    if not is_loopback(peer):
        raise Forbidden("/metrics answers loopback only unless MEDIUM_METRICS_TOKEN is set")


@router.get("/metrics", response_class=PlainTextResponse,
            responses={401: {"description": "MEDIUM_METRICS_TOKEN is set and the bearer token is missing or wrong"},
                       403: {"description": "no MEDIUM_METRICS_TOKEN and the peer is not loopback"}})
async def metrics(request: Request, st: StoreDep, gateway: GatewayDep, m: MetricsDep,
                  settings: SettingsDep) -> PlainTextResponse:
    """Prometheus text exposition format 0.0.4 (see api/metrics.py for what is there)."""
    _may_scrape(request, settings)
    return PlainTextResponse(await m.render(st, gateway),
                             media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/config", response_model=schemas.ConfigPublic)
async def config(registry: RegistryDep, settings: SettingsDep, st: StoreDep) -> schemas.ConfigPublic:
    """The web client's configuration. ``realtime`` is ``supabase`` (with ``supabase``: the URL
    and anon key for supabase-js) when the database broadcasts and the API knows the project's
    client settings (``SUPABASE_ANON_KEY`` and ``MEDIUM_SUPABASE_CLIENT_URL`` or
    ``SUPABASE_URL``); else ``notify``, the gateway."""
    url, key = settings.supabase_client_url, settings.supabase_anon_key
    supabase = None
    if url and key and await st.realtime() == "supabase":
        supabase = schemas.SupabaseClientConfig(url=url, anon_key=key)
    return schemas.ConfigPublic(narrator=registry.label, time_scale=settings.medium_time_scale,
                                realtime="supabase" if supabase else "notify", supabase=supabase)
