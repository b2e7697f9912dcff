"""Where the database is: DATABASE_URL, TEST_DATABASE_URL, a local server, or embedded pgserver.

Resolution order (first that applies):
  1. ``DATABASE_URL``;
  2. for tests only, ``TEST_DATABASE_URL``;
  3. a server answering on 127.0.0.1:5432 (database ``medium``, created if missing);
  4. an embedded PostgreSQL 16 via ``pgserver``, data under ``MEDIUM_DATA_DIR/pg``.
The embedded server is stopped when the process exits (pgserver's ``cleanup_mode='stop'``).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthesis import installed
from synthesis.settings import Settings

log = logging.getLogger(__name__)

LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 5432
LOCAL_URL = f"postgresql://postgres@{LOCAL_HOST}:{LOCAL_PORT}/postgres"


@dataclass
class ResolvedDatabase:
    url: str
    source: str  # "DATABASE_URL" | "TEST_DATABASE_URL" | "local" | "embedded"
    server: Any = None  # the pgserver handle when embedded

    def stop(self) -> None:
        """Stop an embedded server we started (no-op otherwise). Idempotent."""
        if self.server is not None:
            import psutil  # installed with pgserver (the `embedded` extra), which made self.server

            try:
                self.server.cleanup()
            except psutil.NoSuchProcess:
                # The postmaster pgserver started is gone already (stopped, or replaced by a
                # `pg_ctl restart`); pgserver then races its own liveness check. Stopped is stopped.
                log.info("embedded postgres already stopped", extra={"action": "db_stop"})
            finally:
                self.server = None


def local_server_answers(host: str = LOCAL_HOST, port: int = LOCAL_PORT, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_embedded(data_dir: Path) -> ResolvedDatabase:
    """Start (or attach to) the embedded PostgreSQL under ``data_dir/pg``.

    Needs the ``embedded`` extra (pgserver); without it, raises ``MissingExtra`` naming it.
    """
    import warnings

    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir, which containers often lack.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        with installed.extra("embedded", "the embedded PostgreSQL (used when DATABASE_URL is unset "
                             "and nothing answers on 127.0.0.1:5432)"):
            import pgserver  # imported lazily: it is heavy and only needed here

        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    log.info("embedded postgres ready", extra={"action": "embedded_pg", "pgdata": str(pgdata)})
    return ResolvedDatabase(url=server.get_uri(), source="embedded", server=server)


def resolve_database(
    settings: Settings, *, explicit: str | None = None, for_tests: bool = False,
    embedded_only: bool = False,
) -> ResolvedDatabase:
    """Pick the database per the order above. ``embedded_only`` skips the local-server probe
    (``medium demo``: no DATABASE_URL means the embedded server)."""
    if explicit:
        return ResolvedDatabase(explicit, "explicit")
    if settings.database_url:
        return ResolvedDatabase(settings.database_url, "DATABASE_URL")
    if for_tests and settings.test_database_url:
        return ResolvedDatabase(settings.test_database_url, "TEST_DATABASE_URL")
    if not embedded_only and local_server_answers():
        return ResolvedDatabase(f"postgresql://postgres@{LOCAL_HOST}:{LOCAL_PORT}/medium", "local")
    return start_embedded(settings.medium_data_dir)
