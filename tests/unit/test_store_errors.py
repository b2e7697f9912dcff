"""Driver errors never escape the store raw: each becomes a domain error that says what happened."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from synthesis import errors, store


class BrokenConnection:
    """A connection left mid-protocol by a server restart, as asyncpg reports it."""

    async def fetchrow(self, *_: Any) -> Any:
        raise asyncpg.exceptions.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress")


async def test_a_connection_broken_mid_protocol_is_database_unavailable() -> None:
    st = store.Store(pool=None)  # type: ignore[arg-type] - the caller's connection is used
    tx = store.Tx(BrokenConnection())  # type: ignore[arg-type]
    with pytest.raises(errors.DatabaseUnavailable, match="another operation"):
        await st.lock_frame(tx, uuid.uuid4())


@pytest.mark.parametrize(("exc", "expected"), [
    (asyncpg.exceptions.InternalClientError("cannot switch to state 15"), errors.DatabaseUnavailable),
    (asyncpg.CannotConnectNowError("the database system is shutting down"), errors.DatabaseUnavailable),
    (ConnectionResetError("reset by peer"), errors.DatabaseUnavailable),
    (asyncpg.InterfaceError("connection is closed"), errors.DatabaseUnavailable),
    (asyncpg.UniqueViolationError("duplicate key"), errors.Conflict),
    (asyncpg.DeadlockDetectedError("deadlock detected"), errors.Conflict),
    (asyncpg.SerializationError("could not serialize access"), errors.Conflict),
    (asyncpg.UndefinedTableError("relation does not exist"), errors.MediumError),
])
def test_translate(exc: BaseException, expected: type[errors.MediumError]) -> None:
    assert type(store.translate(exc)) is expected
