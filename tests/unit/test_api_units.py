"""Pure pieces of the API: named-query loading, the rate limiter, token redaction, schemas."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.app import RedactTokens
from api.middleware import Bucket
from api.schemas import FrameUpdate
from synthesis import store


def test_every_sql_file_is_loaded_and_names_stay_unique(tmp_path: Path) -> None:
    assert {"claim_due_windows", "api_my_role", "api_intent"} <= set(store.QUERIES)
    (tmp_path / "a.sql").write_text("-- name: one\nSELECT 1;\n")
    (tmp_path / "b.sql").write_text("-- name: two\nSELECT 2;\n")
    assert store.load_queries(tmp_path) == {"one": "SELECT 1;", "two": "SELECT 2;"}
    (tmp_path / "c.sql").write_text("-- name: one\nSELECT 3;\n")
    with pytest.raises(ValueError, match="'one' is defined twice"):
        store.load_queries(tmp_path)
    (tmp_path / "d.sql").write_text("-- name: x\nSELECT 1;\n-- name: x\nSELECT 2;\n")
    with pytest.raises(ValueError, match="defined twice"):
        store.load_queries(tmp_path / "d.sql")


def test_token_bucket() -> None:
    bucket = Bucket(2.0, 3)
    tokens = 3.0
    for _ in range(3):
        tokens, wait = bucket.spend(tokens, 0.0)
        assert wait == 0.0
    tokens, wait = bucket.spend(tokens, 0.0)
    assert wait == pytest.approx(0.5)
    assert tokens == pytest.approx(0.0)
    tokens, wait = bucket.spend(tokens, 0.5)  # half a second refills one token
    assert wait == 0.0
    assert bucket.spend(tokens, 0.0)[1] > 0
    tokens = bucket.spend(tokens, 100.0)[0] + 1.0  # refills to the burst, not beyond
    assert tokens == pytest.approx(3.0)
    assert bucket.spend(0.0, -5.0)[1] == pytest.approx(0.5)  # a clock step backwards refills nothing


def test_tokens_are_redacted_from_server_logs() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, '%s - "WebSocket %s" [accepted]',
                               ("1.2.3.4", "/frames/x/ws?token=eyJabc.def.ghi&since=3"), None)
    assert RedactTokens().filter(record)
    assert record.getMessage() == '1.2.3.4 - "WebSocket /frames/x/ws?token=[redacted]&since=3" [accepted]'
    join = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/1.1" %d',
                             ("1.2.3.4", "GET", "/join/Ab-9_xYzAb-9_xYz", 200), None)
    assert RedactTokens().filter(join)
    assert join.getMessage() == '1.2.3.4 - "GET /join/[redacted] HTTP/1.1" 200'


def test_pscale_window_overrides_are_checked() -> None:
    assert FrameUpdate(pscale_windows={"-2": 5, "1": 30.5}).pscale_windows == {"-2": 5.0, "1": 30.5}
    for bad, says in (({"3": 5}, "pscale 3 is not between -3 and 2"), ({"-1": 0}, "must be 0 < seconds"),
                      ({"x": 1}, "not an integer")):
        with pytest.raises(ValidationError, match=says):
            FrameUpdate(pscale_windows=bad)
