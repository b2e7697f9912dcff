"""Fixtures for the Supabase-shaped database (tests/integration/supabase_shape.py): a session
template migrated by the non-superuser migrating role, cloned per test."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from synthesis import migrations, store
from tests.integration import supabase_shape


@pytest.fixture(scope="session")
def supabase_template(pg_server_url: str) -> Iterator[str]:
    digest = hashlib.sha256(b"".join(m.checksum.encode() for m in migrations.discover())).hexdigest()
    name = f"medium_supa_tpl_{digest[:10]}_{os.getpid()}"

    async def build() -> None:
        await supabase_shape.drop(pg_server_url, name)
        await supabase_shape.create_migrated(pg_server_url, name)

    asyncio.run(build())
    yield name
    asyncio.run(supabase_shape.drop(pg_server_url, name))


@pytest.fixture
async def supabase_url(pg_server_url: str, supabase_template: str) -> AsyncIterator[str]:
    """A fresh, migrated Supabase-shaped database; the URL connects as the migrating role."""
    name = f"medium_supa_{uuid.uuid4().hex[:12]}"
    url = await supabase_shape.create(pg_server_url, name, template=supabase_template)
    try:
        yield url
    finally:
        await supabase_shape.drop(pg_server_url, name)


@pytest.fixture
async def supabase_empty_url(pg_server_url: str) -> AsyncIterator[str]:
    """A fresh Supabase-shaped database with no migrations applied (migrating role's URL)."""
    name = f"medium_supa_e_{uuid.uuid4().hex[:12]}"
    url = await supabase_shape.create(pg_server_url, name)
    try:
        yield url
    finally:
        await supabase_shape.drop(pg_server_url, name)


@pytest.fixture
async def supabase_st(supabase_url: str) -> AsyncIterator[store.Store]:
    """A store over the Supabase-shaped database, connected as the migrating role (the API's
    and workers' service path there)."""
    pool = await store.create_pool(supabase_url, max_size=4)
    try:
        yield store.Store(pool)
    finally:
        await pool.close()
