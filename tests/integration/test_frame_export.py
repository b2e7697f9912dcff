"""``medium frame export`` / ``import`` round trip (issue 16, item 7, must show): a played
frame, exported to a file and imported into another database, has new ids everywhere, equal
row counts and equal texts, and its references hold; a bad file writes nothing. And
``GET /frames/{id}/transcript.md``: a player's own story, the GM's every character's."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from synthesis import medium, memory_run, store
from synthesis.errors import InvalidInput
from synthesis.store_io import FrameIOStore
from tests.integration.api_support import bearer, cast_of, running_api
from tests.integration.helpers import Cast, commit, scripted_registry
from workers.commands import frame as frame_cmd

NOW = datetime(2026, 3, 1, tzinfo=UTC)
LORE = [{"title": "Debt", "text": "LORE-BRIX you owe the Hutt", "visibility": "character:Brix", "always": True},
        {"title": "Cell", "text": "LORE-CELL the vaporators", "visibility": "affiliation:Cell", "keywords": ["door"]},
        {"title": "GM", "text": "LORE-GM twist", "visibility": "gm"}]


async def play(st: store.Store, cast: Cast, rounds: int = 2) -> None:
    reg = scripted_registry()
    try:
        for n in range(rounds):
            now = NOW + timedelta(minutes=n)
            await commit(st, cast, "Alda", f"I watch the door, round {n}", -2, now)
            await commit(st, cast, "Brix", f"I polish my blaster, round {n}", -2, now)
            later = now + timedelta(seconds=30)
            for w in await st.claim_due_windows(later, limit=50, worker_id="t", lease_seconds=30):
                await medium.synthesize(st, reg, w.frame_id, w.id, now=later)
    finally:
        await reg.aclose()


def texts(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything in an export that is content, not identity."""
    chars = {c["id"]: c["name"] for c in doc["characters"]}
    return {
        "frame": {k: doc["frame"][k] for k in ("name", "mode", "world", "scenario", "pscale_windows", "rules",
                                              "clock_seconds", "event_seq", "outcome_mode")},
        "characters": [(c["name"], c["handle"], c["universal"], c["internal"], c["external"])
                       for c in doc["characters"]],
        "affiliations": [(a["name"], a["internal"]) for a in doc["affiliations"]],
        "memberships": sorted((chars[m["character_id"]], m["hidden"]) for m in doc["memberships"]),
        "lore": [(e["title"], e["body"], e["keywords"], e["always"],
                  "character" if e["visibility"].startswith("character:") else e["visibility"])
                 for e in doc["content"]],
        "lore_for": [chars.get(e["visibility"].removeprefix("character:")) for e in doc["content"]],
        "liquid": sorted((chars[x["character_id"]], x["content"], x["status"]) for x in doc["liquid"]),
        "outcomes": [(o["seq"], chars[o["source_character_id"]], [(chars[a["character_id"]], a["action"], a["result"])
                                                               for a in o["actions_resolved"]], o["world_facts"])
                     for o in doc["outcomes"]],
        "solid": [(s["seq"], chars[s["character_id"]], s["narrative"], len(s["outcome_ids"])) for s in doc["solid"]],
        "events": [(e["seq"], e["type"]) for e in doc["events"]],
        "windows": [(chars[w["character_id"]], w["status"], w["trigger_mode"]) for w in doc["windows"]],
        "changes": [(c["kind"], c["detail"]) for c in doc["frame_changes"]],
        "memory": [(chars[m["character_id"]], m["version"], m["summary"], len(m["source_solid_ids"]))
                   for m in doc["memory_summaries"]],
        "users": sorted(u["name"] for u in doc["users"]),
        "ooc": [(o["role"], o["text"]) for o in doc["ooc_messages"]],
    }


def all_ids(doc: dict[str, Any]) -> set[str]:
    out = {doc["frame"]["id"], *(u["id"] for u in doc["users"])}
    for t in ("characters", "affiliations", "content", "windows", "liquid", "outcomes", "solid"):
        out |= {r["id"] for r in doc[t]}
    return out


async def test_a_played_frame_round_trips_into_another_database(db_url: str, empty_db_url: str,
                                                                 tmp_path: Path) -> None:
    pool = await store.create_pool(db_url, max_size=4)
    try:
        st = FrameIOStore(pool)
        cast = await cast_of(st, lore=LORE, rules={"interrupt_policy": "off", "prompt_budget": 2500})
        await play(st, cast)
        async with st.transaction() as conn:
            await st.log_change(conn, cast.frame_id, "world", cast.gm, {"from": "A cantina.", "to": "A cantina."})
        gone = UUID(int=4242)  # a user who spoke at the table and has left the frame since
        async with st.pool.acquire() as conn:
            await conn.execute("INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES ($1, 'gone@x', "
                               "'{\"name\": \"gone\"}')", gone)
            await conn.execute("INSERT INTO ooc_messages (frame_id, seq, user_id, role, text) VALUES"
                               " ($1, 100000, $2, 'player', 'OOC-TEXT brb, pizza')", cast.frame_id, gone)
        reg = scripted_registry()
        llm, model, _ = reg.soft()
        assert await memory_run.maybe_summarize(st, llm, model, cast.frame_id, cast.ids["Alda"], force=True)
        await reg.aclose()
        before = await st.frame_counts(cast.frame_id)
    finally:
        await pool.close()
    assert before["outcomes"] == 4
    assert before["memory_summaries"] == 1
    assert before["ooc_messages"] == 1
    assert before["solid"] >= 4

    out = tmp_path / "frame.json"
    out.write_text(json.dumps(await frame_cmd.export_frame(db_url, cast.frame_id)))
    exported = json.loads(out.read_text())
    new_id, counts, users = await frame_cmd.import_frame(empty_db_url, exported)  # migrates the target first
    assert counts == before
    assert set(users) == {str(u) for u in (cast.gm, cast.users["Alda"], cast.users["Brix"], UUID(int=4242))}

    again = await frame_cmd.export_frame(empty_db_url, new_id)
    assert texts(again) == texts(exported)
    # new ids everywhere: no old id survives anywhere in the copy
    old = all_ids(exported)
    assert not old & all_ids(again)
    assert not any(i in json.dumps(again) for i in old)
    # references hold in the copy: a solid's outcomes, liquid's windows, the lore's character
    outcome_ids = {o["id"] for o in again["outcomes"]}
    solid_ids = {s["id"] for s in again["solid"]}
    assert all(set(m["source_solid_ids"]) <= solid_ids for m in again["memory_summaries"])
    assert all(set(s["outcome_ids"]) <= outcome_ids for s in again["solid"])
    window_ids = {w["id"] for w in again["windows"]}
    assert all(x["window_id"] in window_ids for x in again["liquid"] if x["window_id"])
    brix = next(c["id"] for c in again["characters"] if c["name"] == "Brix")
    assert again["content"][0]["visibility"] == f"character:{brix}"

    # importing the same file again makes a second, independent frame
    second, counts2, _ = await frame_cmd.import_frame(empty_db_url, exported)
    assert second != new_id
    assert counts2 == before


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.update(format="other"), "format"),
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.update(frame=None), "frame"),
    (lambda d: d.update(outcomes="many"), "outcomes"),
    (lambda d: d["solid"][0].update(frame_id="00000000-0000-0000-0000-000000000001"), "solid"),
])
async def test_a_bad_export_is_refused_and_writes_nothing(st: store.Store, db_url: str, mutate: Any,
                                                          field: str) -> None:
    cast = await cast_of(st)
    await play(st, cast, rounds=1)
    doc = await frame_cmd.export_frame(db_url, cast.frame_id)
    mutate(doc)
    async with st.pool.acquire() as conn:
        frames = await conn.fetchval("SELECT count(*) FROM frames")
    with pytest.raises(InvalidInput) as e:
        await frame_cmd.import_frame(db_url, doc)
    assert e.value.field == field
    async with st.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM frames") == frames


async def test_the_transcript_is_my_story_and_the_gms_is_everyones(db_url: str) -> None:
    async with running_api(db_url) as api:
        cast = await cast_of(api.st)
        await play(api.st, cast)
        solids = await api.st.solids(cast.frame_id)
        mine = {n: [s.narrative for s in solids if s.character_id == cast.ids[n]] for n in ("Alda", "Brix")}
        assert all(mine.values())

        r = await api.client.get(f"/frames/{cast.frame_id}/transcript.md", headers=bearer(cast.users["Alda"]))  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/markdown")
        alda = r.text
        assert alda.startswith("# Api\n")
        assert "## Alda" in alda
        assert "## Brix" not in alda
        assert all(n.strip() in alda for n in mine["Alda"])
        assert not any(n.strip() in alda for n in mine["Brix"])
        assert alda.index(mine["Alda"][0].strip()) < alda.index(mine["Alda"][-1].strip())  # in order

        gm = (await api.client.get(f"/frames/{cast.frame_id}/transcript.md", headers=bearer(cast.gm))).text
        assert "## Alda" in gm
        assert "## Brix" in gm
        assert all(n.strip() in gm for n in mine["Alda"] + mine["Brix"])
        r = await api.client.get(f"/frames/{cast.frame_id}/transcript.md", headers=bearer(UUID(int=7)))
        assert r.status_code == 404


def _medium(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("medium")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, check=False)


async def test_the_cli_exports_and_imports_a_frame(st: store.Store, db_url: str, empty_db_url: str,
                                                   tmp_path: Path) -> None:
    cast = await cast_of(st, lore=LORE)
    await play(st, cast, rounds=1)
    out = tmp_path / "f.json"
    done = await asyncio.to_thread(_medium, "frame", "export", "--frame", str(cast.frame_id), "--out", str(out),
                                   "--database-url", db_url)
    assert done.returncode == 0, done.stderr
    assert "exported frame" in done.stderr
    assert json.loads(out.read_text())["format"] == "medium-frame"
    done = await asyncio.to_thread(_medium, "frame", "import", str(out), "--json", "--database-url", empty_db_url)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["counts"]["content"] == len(LORE)
    assert result["frame_id"] != str(cast.frame_id)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "something-else"}))
    done = await asyncio.to_thread(_medium, "frame", "import", str(bad), "--database-url", empty_db_url)
    assert done.returncode == 2
    assert "format" in done.stderr
    done = await asyncio.to_thread(_medium, "frame", "export", "--frame", "not-an-id", "--database-url", db_url)
    assert done.returncode == 2
