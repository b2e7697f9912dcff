"""Static checks on docker-compose.supabase.yml (issue 13, item 8): Supabase's postgres, Auth
(GoTrue) and Realtime beside medium's migrate, API and workers, with the settings wired between
them (docker itself is not needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.unit.test_compose import INTERP, command_of, depends_on, env_of, settings_aliases

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.supabase.yml"
MEDIUM_SERVICES = ("migrate", "api", "worker")
IMAGES = {"db": "supabase/postgres", "auth": "supabase/gotrue", "realtime": "supabase/realtime"}
# Compose-level variables shared with the Supabase services (not medium settings).
COMPOSE_ONLY_VARS = {"POSTGRES_PASSWORD", "JWT_SECRET", "ANON_KEY"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data["services"]


def required_var(value: str) -> str:
    """The variable ``value`` interpolates, which must be required (``${VAR:?...}``)."""
    m = INTERP.fullmatch(value.strip())
    assert m, f"not a single interpolation: {value!r}"
    assert m.group(2) == ":?", f"{value!r} must be required"
    return m.group(1)


def vars_in(value: str) -> set[str]:
    return {m.group(1) for m in INTERP.finditer(value)}


def test_the_services_and_their_images(services: dict[str, Any]) -> None:
    assert set(services) == {"db", "auth", "realtime", "migrate", "api", "worker"}
    for name, image in IMAGES.items():
        repo, _, tag = services[name]["image"].partition(":")
        assert repo == image
        assert tag not in ("", "latest"), f"{name} must pin a version"
    assert services["db"]["image"].split(":")[1].startswith("15.")  # what Supabase runs
    for name in MEDIUM_SERVICES:
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
        assert services[name]["image"] == "medium:local"


def test_one_jwt_secret_signs_and_verifies_everywhere(services: dict[str, Any]) -> None:
    """Auth signs players' tokens with JWT_SECRET; Realtime (channel joins) and medium (every
    API call) verify them with the same one."""
    secrets = {
        "auth": env_of(services["auth"])["GOTRUE_JWT_SECRET"],
        "realtime": env_of(services["realtime"])["API_JWT_SECRET"],
        **{name: env_of(services[name])["MEDIUM_JWT_SECRET"] for name in MEDIUM_SERVICES},
    }
    assert {required_var(v) for v in secrets.values()} == {"JWT_SECRET"}
    assert env_of(services["auth"])["GOTRUE_JWT_AUD"] == "authenticated"
    for name in MEDIUM_SERVICES:  # HS256 here: a JWKS setting would refuse Auth's HS256 tokens
        assert not {"SUPABASE_URL", "MEDIUM_JWKS_URL"} & set(env_of(services[name]))


@pytest.mark.parametrize("name", MEDIUM_SERVICES)
def test_medium_uses_a_session_on_5432_as_postgres(services: dict[str, Any], name: str) -> None:
    url = env_of(services[name])["DATABASE_URL"]
    parts = urlsplit(INTERP.sub("secret", url))
    assert parts.scheme in {"postgresql", "postgres"}
    assert (parts.hostname, parts.port, parts.username, parts.path) == ("db", 5432, "postgres", "/postgres")
    assert vars_in(url) == {"POSTGRES_PASSWORD"}


def test_auth_and_realtime_reach_the_same_database(services: dict[str, Any]) -> None:
    auth = urlsplit(INTERP.sub("secret", env_of(services["auth"])["GOTRUE_DB_DATABASE_URL"]))
    assert (auth.hostname, auth.port, auth.username) == ("db", 5432, "supabase_auth_admin")
    realtime = env_of(services["realtime"])
    assert (realtime["DB_HOST"], realtime["DB_PORT"], realtime["DB_NAME"]) == ("db", "5432", "postgres")
    assert required_var(realtime["DB_PASSWORD"]) == "POSTGRES_PASSWORD"
    assert realtime["SEED_SELF_HOST"] == "true"
    assert services["realtime"]["container_name"].split(".")[0] == "realtime-dev"  # the tenant


def test_the_init_scripts_it_mounts_exist(services: dict[str, Any]) -> None:
    mounts = [str(v).split(":") for v in services["db"]["volumes"]]
    scripts = [m for m in mounts if m[0].startswith("./")]
    assert scripts
    for src, target, *_ in scripts:
        assert (ROOT / src).is_file(), src
        assert target.startswith("/docker-entrypoint-initdb.d/")
    roles = (ROOT / "docker/supabase/roles.sql").read_text()
    assert "supabase_auth_admin" in roles
    assert "supabase_admin" in roles


def test_medium_broadcasts_and_leaves_migrating_to_the_migrate_service(services: dict[str, Any]) -> None:
    for name in MEDIUM_SERVICES:
        env = env_of(services[name])
        assert env["MEDIUM_REALTIME"] == "supabase"
        assert env["MEDIUM_AUTO_MIGRATE"] == "false"
        assert required_var(env["SUPABASE_ANON_KEY"]) == "ANON_KEY"
        client = INTERP.fullmatch(env["MEDIUM_SUPABASE_CLIENT_URL"])
        assert client
        assert client.group(2) == ":-"
        assert urlsplit(client.group(3)).port == 4000  # the realtime service, under its tenant's name
        assert urlsplit(client.group(3)).hostname.split(".")[0] == "realtime-dev"
    migrate = services["migrate"]
    assert command_of(migrate) == ["migrate"]
    deps = depends_on(migrate)
    assert deps["db"]["condition"] == "service_healthy"
    # Auth makes auth.users and Realtime makes realtime.messages before medium's policies need them.
    assert deps["auth"]["condition"] == "service_healthy"
    assert deps["realtime"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert depends_on(services[name])["migrate"]["condition"] == "service_completed_successfully"
    assert command_of(services["api"])[:1] == ["api"]
    assert command_of(services["worker"]) == ["worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2


@pytest.mark.parametrize("name", MEDIUM_SERVICES)
def test_medium_env_names_are_real_settings(services: dict[str, Any], name: str) -> None:
    aliases = settings_aliases()
    env = env_of(services[name])
    assert not set(env) - aliases, sorted(set(env) - aliases)
    referenced = {v for value in env.values() for v in vars_in(value)}
    assert not referenced - aliases - COMPOSE_ONLY_VARS, sorted(referenced - aliases - COMPOSE_ONLY_VARS)


def test_the_database_is_published_on_loopback_only(services: dict[str, Any]) -> None:
    assert services["db"]["ports"] == ["127.0.0.1:5432:5432"]
    assert services["auth"]["ports"] == ["127.0.0.1:9999:9999"]
    assert required_var(env_of(services["db"])["POSTGRES_PASSWORD"]) == "POSTGRES_PASSWORD"
