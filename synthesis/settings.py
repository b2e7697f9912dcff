"""Settings from the environment (pydantic-settings). Constructed by entry points, never at import."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from uuid import UUID

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The development JWT secret: fine on loopback, refused on any other interface (see
# ``Settings.dev_secret_on``).
DEV_JWT_SECRET = "medium-dev-jwt-secret-change-me-0123456789"  # noqa: S105  public by design, loopback only
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether binding or answering ``host`` stays on this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("medium", appauthor=False))


class Settings(BaseSettings):
    """Every knob medium reads. Env var names are the field names upper-cased."""

    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    test_database_url: str | None = Field(default=None, alias="TEST_DATABASE_URL")
    medium_data_dir: Path = Field(default_factory=default_data_dir, alias="MEDIUM_DATA_DIR")
    medium_time_scale: float = Field(default=1.0, gt=0, alias="MEDIUM_TIME_SCALE")
    medium_jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET), alias="MEDIUM_JWT_SECRET"
    )
    # Supabase Auth: asymmetric tokens verified against the project's JWKS (see synthesis/auth.py).
    medium_jwks_url: str | None = Field(default=None, alias="MEDIUM_JWKS_URL")
    supabase_url: str | None = Field(default=None, alias="SUPABASE_URL")
    medium_jwt_issuer: str | None = Field(default=None, alias="MEDIUM_JWT_ISSUER")
    # The web client's Supabase path (GET /config): the project's anon (publishable) key, public
    # by design, and the URL its supabase-js connects to (default SUPABASE_URL).
    supabase_anon_key: str | None = Field(default=None, alias="SUPABASE_ANON_KEY")
    medium_supabase_client_url: str | None = Field(default=None, alias="MEDIUM_SUPABASE_CLIENT_URL")
    medium_secret_key: SecretStr | None = Field(default=None, alias="MEDIUM_SECRET_KEY")
    # LLM: "scripted" (offline default), "openai:<model>", "anthropic:<model>".
    medium_llm: str | None = Field(default=None, alias="MEDIUM_LLM")
    medium_soft_llm: str | None = Field(default=None, alias="MEDIUM_SOFT_LLM")
    # auto: the deterministic classifier first, the soft model only when no rule decides;
    # model: always the model; classifier: never the model.
    medium_soft_mode: Literal["auto", "model", "classifier"] = Field(default="auto", alias="MEDIUM_SOFT_MODE")
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    anthropic_api_key: SecretStr | None = Field(default=None, alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, alias="ANTHROPIC_BASE_URL")
    medium_llm_timeout: float = Field(default=60.0, gt=0, alias="MEDIUM_LLM_TIMEOUT")
    medium_llm_concurrency: int = Field(default=16, ge=1, alias="MEDIUM_LLM_CONCURRENCY")
    medium_llm_latency: str | None = Field(default=None, alias="MEDIUM_LLM_LATENCY")
    medium_llm_seed: int = Field(default=0, alias="MEDIUM_LLM_SEED")
    # The compiled prompt's cap in estimated tokens (synthesis/budget.py); a frame's
    # rules.prompt_budget overrides it.
    medium_prompt_budget: int = Field(default=3000, ge=500, le=200_000, alias="MEDIUM_PROMPT_BUDGET")
    medium_llm_fail_rate: float = Field(default=0.0, ge=0, le=1, alias="MEDIUM_LLM_FAIL_RATE")
    medium_realtime: str = Field(default="notify", alias="MEDIUM_REALTIME")
    # False: the API and workers never migrate at start-up (a project whose migrations the
    # Supabase CLI or an explicit ``medium migrate`` applies).
    medium_auto_migrate: bool = Field(default=True, alias="MEDIUM_AUTO_MIGRATE")
    medium_log_level: str = Field(default="INFO", alias="MEDIUM_LOG_LEVEL")
    medium_public_url: str | None = Field(default=None, alias="MEDIUM_PUBLIC_URL")
    medium_rate_limit: float = Field(default=5.0, gt=0, alias="MEDIUM_RATE_LIMIT")
    medium_rate_burst: int = Field(default=10, ge=1, alias="MEDIUM_RATE_BURST")
    # Users allowed to write the model registry (comma-separated ids), until frames have an
    # admin role of their own: being GM of a frame is not enough to change every frame's models.
    # ``MEDIUM_ADMIN_USERS`` is the same list (the name issue 14 gives it).
    medium_admin_user_ids: str = Field(default="", validation_alias=AliasChoices(
        "MEDIUM_ADMIN_USERS", "MEDIUM_ADMIN_USER_IDS", "medium_admin_user_ids"))
    # Sessions started by an invite (POST /auth/join): the access token's and the refresh
    # token's lifetimes, in seconds.
    medium_access_token_ttl: int = Field(default=3600, ge=60, le=24 * 3600, alias="MEDIUM_ACCESS_TOKEN_TTL")
    medium_session_ttl: int = Field(default=14 * 24 * 3600, ge=3600, alias="MEDIUM_SESSION_TTL")
    # /metrics: with a token, scrapers send ``Authorization: Bearer <token>``; without one, only
    # loopback peers are answered.
    medium_metrics_token: SecretStr | None = Field(default=None, alias="MEDIUM_METRICS_TOKEN")
    # Browser origins allowed to call the API cross-origin (comma-separated); empty: CORS off.
    medium_cors_origins: str = Field(default="", alias="MEDIUM_CORS_ORIGINS")

    def dev_secret_on(self, host: str) -> str | None:
        """Why serving on ``host`` is refused (the development JWT secret on a non-loopback
        interface: anyone who reads this repository could mint tokens), else None."""
        if is_loopback(host) or self.medium_jwt_secret.get_secret_value() != DEV_JWT_SECRET:
            return None
        return (f"refusing to bind {host}: MEDIUM_JWT_SECRET is the development secret, which anyone "
                "can read in the source; set MEDIUM_JWT_SECRET (e.g. `export MEDIUM_JWT_SECRET=$(openssl "
                "rand -hex 32)`) or bind 127.0.0.1")

    @property
    def jwks_url(self) -> str | None:
        """``MEDIUM_JWKS_URL``, else Supabase Auth's key set under ``SUPABASE_URL``, else None."""
        if self.medium_jwks_url:
            return self.medium_jwks_url
        if self.supabase_url:
            return f"{self.supabase_url.rstrip('/')}/auth/v1/.well-known/jwks.json"
        return None

    @property
    def jwt_issuer(self) -> str | None:
        """``MEDIUM_JWT_ISSUER``, else Supabase Auth's issuer under ``SUPABASE_URL``."""
        if self.medium_jwt_issuer:
            return self.medium_jwt_issuer
        return f"{self.supabase_url.rstrip('/')}/auth/v1" if self.supabase_url else None

    @property
    def supabase_client_url(self) -> str | None:
        """Where the web client's supabase-js connects: ``MEDIUM_SUPABASE_CLIENT_URL``, else
        ``SUPABASE_URL``."""
        url = self.medium_supabase_client_url or self.supabase_url
        return url.rstrip("/") if url else None

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.medium_cors_origins.split(",") if o.strip()]

    @field_validator("medium_realtime")
    @classmethod
    def _realtime_transport(cls, value: str) -> str:
        if value not in ("notify", "supabase"):
            raise ValueError(f"MEDIUM_REALTIME must be notify or supabase, got {value!r}")
        return value

    @field_validator("medium_admin_user_ids")
    @classmethod
    def _admin_ids_are_uuids(cls, value: str) -> str:
        ids = [v.strip() for v in value.split(",") if v.strip()]
        try:
            return ",".join(str(UUID(v)) for v in ids)
        except ValueError:
            raise ValueError("MEDIUM_ADMIN_USERS (MEDIUM_ADMIN_USER_IDS) must be comma-separated user ids, "
                             f"got {value!r}") from None

    @property
    def admin_user_ids(self) -> frozenset[UUID]:
        return frozenset(UUID(v) for v in self.medium_admin_user_ids.split(",") if v)
