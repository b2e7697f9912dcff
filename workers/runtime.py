"""Process-level helpers shared by CLI commands: settings, database resolution, logging, and
the process entry point's garbage-collector setup."""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from synthesis import database
from synthesis.llm import keys
from synthesis.settings import Settings

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line with stable keys (action, frame_id, window_id, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _RESERVED and not k.startswith("_"):
                out[k] = v if isinstance(v, int | float | bool | type(None)) else str(v)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("asyncio", "httpx", "httpcore", "openai", "anthropic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # Provider keys from the environment are masked in every line; keys decrypted from the
    # `models` table later are added by the registry (keys.mask_everywhere).
    settings = Settings()
    keys.install_masking(s.get_secret_value() for s in (settings.openai_api_key, settings.anthropic_api_key)
                         if s is not None)


@contextmanager
def database_url(settings: Settings, explicit: str | None = None, *,
                 embedded_only: bool = False) -> Iterator[database.ResolvedDatabase]:
    """Resolve the database for a command; an embedded server is stopped on exit."""
    resolved = database.resolve_database(settings, explicit=explicit, embedded_only=embedded_only)
    try:
        yield resolved
    finally:
        resolved.stop()


def freeze_startup_objects() -> None:
    """Everything allocated while a worker process starts (modules, pools, models) lives as long
    as the process: move it out of the collector's generations, so a burst's thousands of
    short-lived tasks and rows do not pay for full collections walking ~200k long-lived
    objects. Process-wide, so it belongs to the process entry point, not to ``Worker``."""
    gc.freeze()
