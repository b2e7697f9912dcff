"""Static checks on docker-compose.yml and the Dockerfile (docker itself is not needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from synthesis.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
MEDIUM_SERVICES = ("migrate", "api", "worker")
INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
# Compose-level knobs that are not medium settings (only allowed inside values).
COMPOSE_ONLY_VARS = {"POSTGRES_PASSWORD"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_of(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    return cmd.split() if isinstance(cmd, str) else list(cmd or [])


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: {"condition": "service_started"} for d in deps}
    return deps


def settings_aliases() -> set[str]:
    return {f.alias for f in Settings.model_fields.values() if f.alias}


def test_services_exist(services: dict[str, Any]) -> None:
    assert {"db", "migrate", "api", "worker"} <= set(services)


def test_db_is_postgres_with_logical_wal(services: dict[str, Any]) -> None:
    db = services["db"]
    assert db["image"].split(":")[0] == "postgres"
    assert db["image"].split(":")[1] == "16"
    assert "wal_level=logical" in command_of(db)
    assert db.get("volumes"), "db needs a named volume"
    assert "pg_isready" in str(db["healthcheck"]["test"])
    assert "${POSTGRES_PASSWORD" in env_of(db)["POSTGRES_PASSWORD"]


@pytest.mark.parametrize("name", MEDIUM_SERVICES)
def test_medium_services_build_from_dockerfile(services: dict[str, Any], name: str) -> None:
    build = services[name]["build"]
    if isinstance(build, str):
        assert (ROOT / build / "Dockerfile").is_file()
    else:
        assert (ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).is_file()


@pytest.mark.parametrize("name", MEDIUM_SERVICES)
def test_database_url_points_at_db(services: dict[str, Any], name: str) -> None:
    url = env_of(services[name])["DATABASE_URL"]
    parts = urlsplit(INTERP.sub("secret", url))  # what compose hands the container
    assert parts.scheme in {"postgresql", "postgres"}
    assert parts.hostname == "db"
    assert parts.port == 5432
    # The password comes from the environment, never a hard-coded literal only.
    assert "${POSTGRES_PASSWORD" in url


@pytest.mark.parametrize("name", MEDIUM_SERVICES)
@pytest.mark.parametrize("var", ["MEDIUM_JWT_SECRET", "MEDIUM_SECRET_KEY"])
def test_secrets_are_required_interpolations(services: dict[str, Any], name: str, var: str) -> None:
    value = env_of(services[name])[var].strip()
    m = INTERP.fullmatch(value)
    assert m, f"{name}.{var} must be a ${{...}} interpolation, not a literal: {value!r}"
    assert m.group(1) == var
    assert m.group(2) in {":?", "?"}, f"{name}.{var} must be required (${{{var}:?...}})"


@pytest.mark.parametrize("name", MEDIUM_SERVICES)
def test_env_values_are_interpolated_not_literal(services: dict[str, Any], name: str) -> None:
    for key, value in env_of(services[name]).items():
        if key == "DATABASE_URL":
            continue
        m = INTERP.fullmatch(value.strip())
        assert m, f"{name}.{key} should be ${{{key}...}}: {value!r}"
        assert m.group(1) == key, f"{name}.{key} should be ${{{key}...}}: {value!r}"


@pytest.mark.parametrize("name", MEDIUM_SERVICES)
def test_env_names_are_real_settings(services: dict[str, Any], name: str) -> None:
    aliases = settings_aliases()
    env = env_of(services[name])
    assert env, f"{name} has no environment"
    unknown = set(env) - aliases
    assert not unknown, f"{name} sets env vars Settings does not read: {sorted(unknown)}"
    referenced = {m.group(1) for v in env.values() for m in INTERP.finditer(v)}
    unknown_refs = referenced - aliases - COMPOSE_ONLY_VARS
    assert not unknown_refs, f"{name} interpolates unknown vars: {sorted(unknown_refs)}"


def test_api_and_worker_commands(services: dict[str, Any]) -> None:
    api = services["api"]
    assert command_of(api)[0] == "api"
    cmd = command_of(api)
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--port") + 1] == "8000"
    assert any(str(p).startswith("8000:8000") for p in api["ports"])

    worker = services["worker"]
    assert command_of(worker) == ["worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "stop_grace_period" in worker


def test_migrations_run_before_api_and_worker(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert command_of(migrate) == ["migrate"]
    assert depends_on(migrate)["db"]["condition"] == "service_healthy"
    mounts = [str(v) for v in migrate.get("volumes", [])]
    assert any(
        m.split(":")[0].rstrip("/") in {"./supabase/migrations", "supabase/migrations"}
        and m.split(":")[1] == "/app/supabase/migrations"
        for m in mounts
    ), mounts
    assert str(migrate.get("restart", "no")) == "no"
    for name in ("api", "worker"):
        assert (
            depends_on(services[name])["migrate"]["condition"] == "service_completed_successfully"
        )


def test_shared_env_uses_anchor() -> None:
    text = COMPOSE.read_text()
    assert "x-medium-env: &medium-env" in text
    assert text.count("*medium-env") >= 3


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text()
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    assert lines[0].startswith("FROM python:3.11-slim")
    assert 'ENTRYPOINT ["medium"]' in lines
    assert 'CMD ["api", "--host", "0.0.0.0", "--port", "8000"]' in lines
    assert "EXPOSE 8000" in lines
    copies = " ".join(ln for ln in lines if ln.startswith("COPY"))
    for src in (
        "pyproject.toml",
        "README.md",
        "synthesis",
        "api",
        "workers",
        "web",
        "supabase",
        "benchmarks",
    ):
        assert re.search(rf"(^|\s){re.escape(src)}(\s|/|$)", copies), f"Dockerfile must COPY {src}"
    assert any(ln.startswith("RUN") and "pip install ." in ln for ln in lines)
    assert any(ln.startswith("USER ") and ln.split()[1] not in {"root", "0"} for ln in lines)
    assert "HEALTHCHECK" in text
    assert "/health" in text
    assert "urllib" in text


def test_dockerignore() -> None:
    entries = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", "tests/browser/artifacts", "__pycache__"} <= entries


def test_the_database_is_published_on_loopback_only_with_a_required_password(services: dict[str, Any]) -> None:
    db = services["db"]
    assert db["ports"] == ["127.0.0.1:5432:5432"]
    for value in (env_of(db)["POSTGRES_PASSWORD"], env_of(services["api"])["DATABASE_URL"]):
        found = [m for m in INTERP.finditer(value) if m.group(1) == "POSTGRES_PASSWORD"]
        assert found, value
        assert found[0].group(2) == ":?", value  # no default: compose refuses to start without it
