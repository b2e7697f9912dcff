"""The Supabase CLI project files (issue 13, item 7): ``supabase/config.toml`` as ``supabase
init`` lays it out, and ``supabase/seed.sql``, the Mos Eisley cantina, which applies after the
whole migration history on the Supabase-shaped database as its migrating role and holds exactly
the scenario file's frame, groups, characters and memberships, with no user."""

from __future__ import annotations

import tomllib
from pathlib import Path

from synthesis import scenario, store

ROOT = Path(__file__).resolve().parents[2]
SUPABASE = ROOT / "supabase"


def test_config_toml_is_a_cli_project_that_exposes_only_public() -> None:
    config = tomllib.loads((SUPABASE / "config.toml").read_text())
    assert config["project_id"] == "medium"
    assert "medium_private" not in config["api"]["schemas"]
    assert config["db"]["major_version"] >= 15
    assert config["db"]["pooler"]["pool_mode"] == "session"  # never transaction mode for medium
    assert config["db"]["migrations"]["enabled"] is True
    assert config["db"]["seed"]["sql_paths"] == ["./seed.sql"]
    assert config["realtime"]["enabled"] is True
    assert config["auth"]["enable_signup"] is False  # players come from the Auth admin API
    assert (SUPABASE / "migrations").is_dir()
    assert (SUPABASE / "seed.sql").is_file()


async def test_the_seed_is_the_cantina_and_applies_after_the_migrations(supabase_url: str) -> None:
    sc = scenario.load_scenario_file(scenario.MOS_EISLEY)
    seed = (SUPABASE / "seed.sql").read_text()
    conn = await store.connect(supabase_url)
    try:
        async with conn.transaction():
            await conn.execute(seed)
        [frame] = await conn.fetch("SELECT id, name, mode, world, scenario, perceive FROM frames")
        groups = {r["name"]: r for r in await conn.fetch("SELECT * FROM affiliations")}
        chars = {r["name"]: r for r in await conn.fetch("SELECT * FROM characters ORDER BY name")}
        members = {(r["c"], r["a"]): r["hidden"] for r in await conn.fetch(
            "SELECT c.name AS c, a.name AS a, m.hidden FROM memberships m "
            "JOIN characters c ON c.frame_id = m.frame_id AND c.id = m.character_id "
            "JOIN affiliations a ON a.frame_id = m.frame_id AND a.id = m.affiliation_id")}
        assert await conn.fetchval("SELECT count(*) FROM frame_members") == 0
        assert await conn.fetchval("SELECT count(*) FROM auth.users") == 0
    finally:
        await conn.close()
    assert (frame["name"], frame["mode"], frame["world"], frame["scenario"], frame["perceive"]) == (
        sc.name, sc.mode, sc.world, sc.scenario, sc.perceive)
    assert set(groups) == {a.name for a in sc.affiliations}
    for a in sc.affiliations:
        assert (groups[a.name]["universal"], groups[a.name]["internal"], groups[a.name]["external"]) == (
            a.universal, a.internal, a.external)
    assert set(chars) == {c.name for c in sc.characters}
    taken: set[str] = set()
    for c in sc.characters:
        row = chars[c.name]
        assert row["handle"] == scenario.make_handle(c.name, taken)
        assert (row["universal"], row["internal"], row["external"]) == (c.universal, c.internal, c.external)
        assert row["actions"] == [a.model_dump() for a in c.actions]
        assert row["user_id"] is None  # seated later, as an Auth user (docs/SUPABASE.md)
    assert members == {(c.name, m.name): m.hidden for c in sc.characters for m in c.affiliations}
