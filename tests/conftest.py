"""Shared fixtures. Integration tests get a fresh database per test, cloned from a migrated
template (as procrastinate does). The server is TEST_DATABASE_URL, else 127.0.0.1:5432 if it
answers, else an embedded pgserver. The database is never mocked."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from synthesis import database, migrations, store

ROOT = Path(__file__).resolve().parents[1]


def _admin_url(url: str, dbname: str) -> str:
    base, _, rest = url.rpartition("/")
    _, _, query = rest.partition("?")
    return f"{base}/{dbname}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A URL to some database on the test server (used for admin statements)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    if database.local_server_answers():
        yield database.LOCAL_URL
        return
    resolved = database.start_embedded(Path(tempfile.mkdtemp(prefix="medium-test-pg-")))
    try:
        yield resolved.url
    finally:
        resolved.stop()


async def _admin(url: str, sql: str) -> None:
    conn = await store.connect(_admin_url(url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    digest = hashlib.sha256(b"".join(m.checksum.encode() for m in migrations.discover())).hexdigest()
    name = f"medium_tpl_{digest[:10]}_{os.getpid()}"

    async def build() -> None:
        await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"')
        await _admin(pg_server_url, f'CREATE DATABASE "{name}"')
        await migrations.apply(_admin_url(pg_server_url, name))

    asyncio.run(build())
    yield name
    asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db_url(pg_server_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = f"medium_t_{uuid.uuid4().hex[:12]}"
    await _admin(pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield _admin_url(pg_server_url, name)
    finally:
        await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def empty_db_url(pg_server_url: str) -> AsyncIterator[str]:
    """A fresh database with no migrations applied."""
    name = f"medium_e_{uuid.uuid4().hex[:12]}"
    await _admin(pg_server_url, f'CREATE DATABASE "{name}"')
    try:
        yield _admin_url(pg_server_url, name)
    finally:
        await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def st(db_url: str) -> AsyncIterator[store.Store]:
    pool = await store.create_pool(db_url, max_size=8)
    try:
        yield store.Store(pool)
    finally:
        await pool.close()
