from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from synthesis import scenario, store
from synthesis.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "scenarios" / "mos_eisley.yaml"
BASE: dict[str, Any] = yaml.safe_load(scenario.MOS_EISLEY.read_text())
PLAY_TABLES = ("frames", "characters", "affiliations", "memberships", "frame_members")


def mutate(fn: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    fn(doc)
    return doc


def _set(path: list[Any], value: Any) -> Any:
    def f(doc: dict[str, Any]) -> None:
        target = doc
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    return f


def _del(path: list[Any]) -> Any:
    def f(doc: dict[str, Any]) -> None:
        target = doc
        for p in path[:-1]:
            target = target[p]
        del target[path[-1]]
    return f


MALFORMED = [
    ("unknown affiliation", _set(["characters", 2, "affiliations"], ["Rebels"]),
     "characters[2].affiliations[0]: unknown affiliation 'Rebels'"),
    ("pscale out of range", _set(["characters", 0, "actions", 1, "pscale"], 5),
     "characters[0].actions[1].pscale"),
    ("missing name", _del(["name"]), "name"),
    ("bad mode", _set(["mode"], "chaos"), "mode"),
    ("no characters", _set(["characters"], []), "characters"),
    ("character without name", _del(["characters", 1, "name"]), "characters[1].name"),
    ("duplicate character", _set(["characters", 1, "name"], "Kessa Vorn"),
     "characters[1].name: duplicate character 'Kessa Vorn'"),
    ("duplicate player", _set(["characters", 1, "player"], "kessa"), "characters[1].player"),
    ("unknown top-level key", _set(["physics"], "none"), "physics"),
    ("bad pscale window key", _set(["pscale_windows"], {7: 5}), "pscale_windows"),
    ("negative window", _set(["pscale_windows"], {-2: -1}), "pscale_windows"),
    ("hidden not bool", _set(["characters", 0, "affiliations"], [{"name": "Rebel Cell", "hidden": "maybe"}]),
     "characters[0].affiliations[0].hidden"),
    ("oversized internal", _set(["characters", 0, "internal"], "x" * 5000), "characters[0].internal"),
    ("empty affiliation name", _set(["affiliations", 0, "name"], ""), "affiliations[0].name"),
]


async def count_rows(st: store.Store) -> dict[str, int]:
    out = {}
    async with st.pool.acquire() as conn:
        for t in PLAY_TABLES:
            out[t] = await conn.fetchval(f"SELECT count(*) FROM public.{t}")
        out["users"] = await conn.fetchval("SELECT count(*) FROM auth.users")
    return out


@pytest.mark.parametrize(("case", "fn", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_scenarios_name_the_field_and_write_nothing(
        st: store.Store, tmp_path: Path, case: str, fn: Any, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(mutate(fn)))
    before = await count_rows(st)
    async def load() -> None:
        await scenario.install(st, scenario.load_scenario_file(path))

    with pytest.raises(ScenarioError) as err:
        await load()
    assert expected in str(err.value), str(err.value)
    assert await count_rows(st) == before == {k: 0 for k in before}


async def test_loading_mos_eisley(st: store.Store) -> None:
    sc = scenario.load_scenario_file(SHARED if SHARED.exists() else scenario.MOS_EISLEY)
    installed = await scenario.install(st, sc)
    counts = await count_rows(st)
    assert counts["frames"] == 1
    assert counts["characters"] == 5
    assert counts["affiliations"] == 3
    assert counts["users"] == 4  # three players and the GM
    async with st.pool.acquire() as conn:
        hidden = await conn.fetch(
            "SELECT c.name FROM memberships m JOIN characters c ON c.id = m.character_id "
            "WHERE m.hidden ORDER BY c.name")
    assert [r["name"] for r in hidden] == ["Kessa Vorn", "Tobin Reez"]
    npcs = [c.name for c in installed.characters if c.user_id is None]
    assert npcs == ["Gorrak", "Sergeant Vell"]


def test_packaged_copy_matches_shared() -> None:
    """The packaged copy is the shared file, plus (issue 16) a trailing ``lore:`` block, which
    the shared seed predates; once the shared copy carries it too, the two are equal."""
    if not SHARED.exists():
        pytest.skip("../shared is not next to this checkout")
    packaged, shared = scenario.MOS_EISLEY.read_text(), SHARED.read_text()
    if "\nlore:\n" in packaged and "\nlore:\n" not in shared:
        packaged = packaged[:packaged.index("\nlore:\n") + 1]
    assert packaged == shared


def test_cli_scenario_load_json(db_url: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "workers", "scenario", "load", str(scenario.MOS_EISLEY),
         "--database-url", db_url, "--json"], capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert set(doc) == {"frame_id", "gm", "characters"}
    assert set(doc["gm"]) == {"user_id", "token", "join"}
    assert {"name", "id", "user", "user_id", "token", "join"} <= set(doc["characters"][0])
    assert len(doc["characters"]) == 5


async def test_cli_scenario_load_prints_join_links_and_no_token(db_url: str) -> None:
    from tests.integration.api_support import SECRET, running_api

    env = {**os.environ, "MEDIUM_JWT_SECRET": SECRET}
    out = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "workers", "scenario", "load", str(scenario.MOS_EISLEY),
                         "--database-url", db_url, "--base-url", "http://play.test"],
        capture_output=True, text=True, check=True, env=env)
    assert "token" not in out.stdout
    assert "eyJ" not in out.stdout  # no JWT at all
    links = re.findall(r"http://play\.test/join/([A-Za-z0-9_-]+)", out.stdout)
    assert len(links) == 4  # three players and the GM
    async with running_api(db_url) as api:
        roles = []
        for code in links:
            r = await api.client.post("/auth/join", json={"code": code})
            assert r.status_code == 200, r.text
            roles.append((r.json()["role"], r.json()["character_id"] is not None))
    assert sorted(roles) == [("gm", False), ("player", True), ("player", True), ("player", True)]


def test_cli_bad_scenario_exits_2_with_field(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(mutate(_set(["characters", 2, "affiliations"], ["Rebels"]))))
    out = subprocess.run(
        [sys.executable, "-m", "workers", "scenario", "load", str(path), "--database-url", db_url],
        capture_output=True, text=True)
    assert out.returncode == 2
    assert "characters[2].affiliations[0]: unknown affiliation 'Rebels'" in out.stderr.replace("\n", "")
