"""Operational response schemas (health, config, stats, directives), re-exported by
``api.schemas`` so routes keep one import."""

from __future__ import annotations

from pydantic import BaseModel


class Directive(BaseModel):
    directive: str


class Percentiles(BaseModel):
    p50: float | None
    p99: float | None


class LLMStats(BaseModel):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    p50_ms: float


class StatsPublic(BaseModel):
    open_windows: int
    failed_windows: int
    lateness_ms: Percentiles
    synthesis_ms: Percentiles
    llm: LLMStats
    clients: int


class Health(BaseModel):
    status: str
    database: str


class SupabaseClientConfig(BaseModel):
    """What a browser's supabase-js needs: the URL it connects to and the project's anon
    (publishable) key, public by design."""

    url: str
    anon_key: str


class ConfigPublic(BaseModel):
    narrator: str
    time_scale: float
    # "supabase": follow the frame through Realtime Broadcast (private channels) with `supabase`;
    # "notify": the gateway's WebSocket.
    realtime: str = "notify"
    supabase: SupabaseClientConfig | None = None
