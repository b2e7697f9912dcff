from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synthesis import migrations, store
from synthesis.errors import MigrationError

OLD_SHIM = "20261121000000_supabase_shim.sql"
SHIM_V2 = "20261203001000_supabase_shim_v2.sql"


async def test_apply_to_empty_then_reapply_is_noop(empty_db_url: str) -> None:
    first = await migrations.apply(empty_db_url)
    names = [m.name for m in migrations.discover()]
    # The replacement shim applies in the old one's place; the old one never runs here.
    assert first == [SHIM_V2] + [n for n in names if n not in (OLD_SHIM, SHIM_V2)]
    assert await migrations.apply(empty_db_url) == []
    conn = await store.connect(empty_db_url)
    try:
        n = await conn.fetchval("SELECT count(*) FROM medium_private.medium_migrations")
    finally:
        await conn.close()
    assert n == len(first)


async def test_edited_applied_file_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    d = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, d)
    await migrations.apply(empty_db_url, d)
    victim = sorted(d.iterdir())[1]
    victim.write_text(victim.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError) as err:
        await migrations.apply(empty_db_url, d)
    assert victim.name in str(err.value)
    assert "edited" in str(err.value)


async def test_a_database_that_ran_the_old_shim_runs_its_replacement_in_turn(
        empty_db_url: str, tmp_path: Path) -> None:
    """The upgrade of an existing plain-Postgres database: the old shim and everything up to
    the replacement were applied; the replacement then runs in its own turn, idempotently."""
    d = tmp_path / "migrations"
    d.mkdir()
    names = [m.name for m in migrations.discover()]
    before = names[:names.index(SHIM_V2)]
    for n in before:
        shutil.copy(migrations.MIGRATIONS_DIR / n, d / n)
    assert await migrations.apply(empty_db_url, d) == before
    assert await migrations.apply(empty_db_url) == names[len(before):]
    assert await migrations.apply(empty_db_url) == []


async def test_replaces_must_name_an_earlier_file(tmp_path: Path) -> None:
    (tmp_path / "20260101000000_a.sql").write_text("SELECT 1;")
    (tmp_path / "20260101000001_b.sql").write_text("-- replaces: 20260101000002_c.sql\nSELECT 1;")
    (tmp_path / "20260101000002_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError) as err:
        migrations.discover(tmp_path)
    assert "20260101000001_b.sql" in str(err.value)


def test_plan_takes_the_replacement_at_the_replaced_position(tmp_path: Path) -> None:
    (tmp_path / "20260101000000_a.sql").write_text("SELECT 1;")
    (tmp_path / "20260101000001_b.sql").write_text("SELECT 1;")
    (tmp_path / "20260101000002_c.sql").write_text("-- why\n-- replaces: 20260101000000_a.sql\nSELECT 1;")
    found = migrations.discover(tmp_path)
    sums = {m.name: m.checksum for m in found}
    assert [m.name for m in migrations.plan(found, {})] == ["20260101000002_c.sql", "20260101000001_b.sql"]
    applied_old = {"20260101000000_a.sql": sums["20260101000000_a.sql"]}
    assert [m.name for m in migrations.plan(found, applied_old)] == ["20260101000001_b.sql",
                                                                      "20260101000002_c.sql"]
    assert migrations.plan(found, {"20260101000002_c.sql": sums["20260101000002_c.sql"],
                                   "20260101000001_b.sql": sums["20260101000001_b.sql"]}) == []


async def test_bad_file_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "001_init.sql").write_text("select 1;")
    with pytest.raises(MigrationError) as err:
        migrations.discover(tmp_path)
    assert "001_init.sql" in str(err.value)


async def test_failed_migration_names_file_and_writes_nothing(empty_db_url: str, tmp_path: Path) -> None:
    (tmp_path / "20260101000000_good.sql").write_text("CREATE TABLE good_one (id int);")
    (tmp_path / "20260101000001_bad.sql").write_text("CREATE TABLE bad_one (id int); SELECT nope;")
    with pytest.raises(MigrationError) as err:
        await migrations.apply(empty_db_url, tmp_path)
    assert "20260101000001_bad.sql" in str(err.value)
    conn = await store.connect(empty_db_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.bad_one')") is None
        assert await conn.fetchval("SELECT to_regclass('public.good_one')") is not None
        names = [r["name"] for r in await conn.fetch("SELECT name FROM medium_private.medium_migrations")]
    finally:
        await conn.close()
    assert names == ["20260101000000_good.sql"]


SEED_COLUMNS = {
    "liquid": {
        "character_id": "uuid", "pscale": "smallint", "submitted_at": "timestamp with time zone",
        "committed_at": "timestamp with time zone", "timer_expires_at": "timestamp with time zone",
        "interruptive": "boolean",
    },
    "outcomes": {
        "source_character_id": "uuid", "actions_resolved": "jsonb", "world_facts": "ARRAY",
        "characters_involved": "ARRAY",
    },
    "solid": {
        "character_id": "uuid", "user_id": "uuid", "outcome_ids": "ARRAY",
        "source_liquid_ids": "ARRAY", "participant_user_ids": "ARRAY", "trigger_mode": "text",
        "synthesis_pscale": "smallint", "face": "text",
    },
}
ARRAY_ELEMENTS = {"world_facts": "_text", "characters_involved": "_uuid", "outcome_ids": "_uuid",
                  "source_liquid_ids": "_uuid", "participant_user_ids": "_uuid"}


async def test_seed_columns_exist_with_types(db_url: str) -> None:
    conn = await store.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ANY($1::text[])", list(SEED_COLUMNS))
        frame_cols = await conn.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema='public' "
            "AND column_name='frame_id'")
    finally:
        await conn.close()
    found = {(r["table_name"], r["column_name"]): (r["data_type"], r["udt_name"]) for r in rows}
    for table, cols in SEED_COLUMNS.items():
        for col, typ in cols.items():
            assert (table, col) in found, f"{table}.{col} missing"
            assert found[(table, col)][0] == typ, f"{table}.{col}: {found[(table, col)]}"
            if col in ARRAY_ELEMENTS:
                assert found[(table, col)][1] == ARRAY_ELEMENTS[col]
    with_frame = {r["table_name"] for r in frame_cols}
    for table in ("characters", "affiliations", "memberships", "content", "windows", "liquid",
                  "outcomes", "solid", "events", "frame_members"):
        assert table in with_frame, f"{table} has no frame_id"


async def test_shim_provides_supabase_objects(db_url: str) -> None:
    conn = await store.connect(db_url)
    try:
        roles = {r["rolname"]: r["rolbypassrls"] for r in await conn.fetch(
            "SELECT rolname, rolbypassrls FROM pg_roles WHERE rolname IN "
            "('anon','authenticated','service_role')")}
        assert set(roles) == {"anon", "authenticated", "service_role"}
        assert roles["service_role"] is True
        assert await conn.fetchval("SELECT count(*) FROM pg_publication WHERE pubname='supabase_realtime'") == 1
        async with conn.transaction():
            await conn.execute("SELECT set_config('request.jwt.claims', "
                               "'{\"sub\":\"11111111-1111-1111-1111-111111111111\",\"role\":\"authenticated\"}', true)")
            assert str(await conn.fetchval("SELECT auth.uid()")) == "11111111-1111-1111-1111-111111111111"
            assert await conn.fetchval("SELECT auth.role()") == "authenticated"
        cols = {r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='auth' AND table_name='users'")}
        assert {"id", "email", "raw_user_meta_data"} <= cols
    finally:
        await conn.close()
