"""Stopping an embedded server is idempotent, also when its postmaster is already gone."""

from __future__ import annotations

import psutil
import pytest

from synthesis.database import ResolvedDatabase


class Server:
    def __init__(self, exc: BaseException | None = None):
        self.exc = exc
        self.cleanups = 0

    def cleanup(self) -> None:
        self.cleanups += 1
        if self.exc is not None:
            raise self.exc


def test_a_postmaster_that_is_already_gone_counts_as_stopped() -> None:
    # after `pg_ctl restart`, pgserver's handle points at the old postmaster's pid
    server = Server(psutil.NoSuchProcess(4242, "postgres"))
    db = ResolvedDatabase(url="postgresql:///x", source="embedded", server=server)
    db.stop()
    db.stop()
    assert db.server is None
    assert server.cleanups == 1


def test_other_failures_to_stop_are_raised() -> None:
    db = ResolvedDatabase(url="postgresql:///x", source="embedded", server=Server(RuntimeError("pg_ctl failed")))
    with pytest.raises(RuntimeError, match="pg_ctl failed"):
        db.stop()
    assert db.server is None
