"""Health, Prometheus metrics and the public client configuration."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from api import schemas
from api.deps import GatewayDep, MetricsDep, RegistryDep, SettingsDep, StoreDep
from synthesis.errors import MediumError

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


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(st: StoreDep, registry: RegistryDep, gateway: GatewayDep, m: MetricsDep) -> PlainTextResponse:
    """Prometheus text exposition format 0.0.4."""
    return PlainTextResponse(await m.render(st, registry, gateway),
                             media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/config", response_model=schemas.ConfigPublic)
async def config(registry: RegistryDep, settings: SettingsDep) -> schemas.ConfigPublic:
    return schemas.ConfigPublic(narrator=registry.label, time_scale=settings.medium_time_scale)
