"""Red team, CLI and scenario files (issue 14, item 7): a table of malformed scenario files
and bad arguments. Each exits non-zero with a message naming the file's field or the flag; no
row is written (the database stays empty); nothing prints a traceback."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from typer.testing import CliRunner

from synthesis import scenario
from tests.integration.redteam import Tally
from workers.cli import app

GOOD: dict[str, Any] = yaml.safe_load(scenario.MOS_EISLEY.read_text())


def mutate(change: Callable[[dict[str, Any]], Any]) -> str:
    doc = copy.deepcopy(GOOD)
    change(doc)
    return yaml.safe_dump(doc)


def put(path: list[Any], value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def drop(path: list[Any]) -> Callable[[dict[str, Any]], Any]:
    def change(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


# (id, file contents (str, or bytes written raw), fragment of the error naming the field)
FILES: list[tuple[str, str | bytes, str]] = [
    ("empty file", "", "top level must be a mapping"),
    ("a YAML list", "- a\n- b\n", "top level must be a mapping"),
    ("a YAML string", "just words\n", "top level must be a mapping"),
    ("not YAML", "name: [unclosed\n", "not valid YAML"),
    ("tabs", "name:\tx\n\tcharacters: []\n", "not valid YAML"),
    ("bad UTF-8", b"name: \xff\xfe\xfd\n", "UTF-8"),
    ("binary", bytes(range(256)), "UTF-8"),
    ("no name", mutate(drop(["name"])), "name: Field required"),
    ("empty name", mutate(put(["name"], "")), "name: String should have at least 1 character"),
    ("name too long", mutate(put(["name"], "n" * 201)), "name: String should have at most 200"),
    ("no characters", mutate(drop(["characters"])), "characters: Field required"),
    ("empty characters", mutate(put(["characters"], [])), "characters: List should have at least 1"),
    ("characters not a list", mutate(put(["characters"], "Kessa")), "characters: Input should be a valid list"),
    ("a character without a name", mutate(drop(["characters", 0, "name"])), "characters[0].name: Field required"),
    ("duplicate characters", mutate(put(["characters", 1, "name"], GOOD["characters"][0]["name"])),
     "characters[1].name: duplicate character"),
    ("duplicate player", mutate(put(["characters", 1, "player"], GOOD["characters"][0]["player"])),
     "characters[1].player: player"),
    ("player with a space", mutate(put(["characters", 0, "player"], "kessa vorn")),
     "characters[0].player: String should match pattern"),
    ("unknown affiliation", mutate(put(["characters", 0, "affiliations"], ["The Empire"])),
     "characters[0].affiliations[0]: unknown affiliation 'The Empire'"),
    ("duplicate membership", mutate(put(["characters", 0, "affiliations"], ["Rebel Cell", "Rebel Cell"])),
     "characters[0].affiliations[1]: duplicate membership"),
    ("hidden not a boolean", mutate(put(["characters", 0, "affiliations"], [{"name": "Rebel Cell", "hidden": "shh"}])),
     "characters[0].affiliations[0].hidden"),
    ("membership with an extra key", mutate(put(["characters", 0, "affiliations"], [{"name": "Rebel Cell", "x": 1}])),
     "characters[0].affiliations[0].x: Extra inputs"),
    ("duplicate affiliation", mutate(put(["affiliations", 1, "name"], GOOD["affiliations"][0]["name"])),
     "affiliations[1].name: duplicate affiliation"),
    ("affiliation without a name", mutate(drop(["affiliations", 0, "name"])), "affiliations[0].name: Field required"),
    ("bad mode", mutate(put(["mode"], "solo")), "mode: String should match pattern"),
    ("bad outcome_mode", mutate(put(["outcome_mode"], "trusting")), "outcome_mode: String should match pattern"),
    ("pscale window out of range", mutate(put(["pscale_windows"], {7: 5})), "pscale 7 is not between -3 and 2"),
    ("pscale window not positive", mutate(put(["pscale_windows"], {-2: -5})), "must be positive seconds"),
    ("pscale window key not a number", mutate(put(["pscale_windows"], {"soon": 5})), "pscale_windows.soon"),
    ("unknown top-level key", mutate(put(["villains"], ["Vader"])), "villains: Extra inputs are not permitted"),
    ("unknown character key", mutate(put(["characters", 0, "password"], "x")),
     "characters[0].password: Extra inputs are not permitted"),
    ("internal over 4000", mutate(put(["characters", 0, "internal"], "x" * 4001)),
     "characters[0].internal: String should have at most 4000"),
    ("world over 20000", mutate(put(["world"], "w" * 20001)), "world: String should have at most 20000"),
    ("action pscale 9", mutate(put(["characters", 0, "actions"], [{"text": "I run", "pscale": 9}])),
     "characters[0].actions[0].pscale: Input should be less than or equal to 2"),
    ("action without text", mutate(put(["characters", 0, "actions"], [{"pscale": -1}])),
     "characters[0].actions[0].text: Field required"),
    ("negative actor budget", mutate(put(["actor_budget_per_hour"], -1)), "actor_budget_per_hour"),
    ("idle_seconds zero", mutate(put(["characters", 0, "idle_seconds"], 0)), "characters[0].idle_seconds"),
    ("name is a number", mutate(put(["name"], 42)), "name: Input should be a valid string"),
]

ARGS: list[tuple[str, list[str], str]] = [
    ("no such file", ["scenario", "load", "/nonexistent/x.yaml"], "x.yaml"),
    ("a directory", ["scenario", "load", "."], "cannot read"),
    ("scenario load without a file", ["scenario", "load"], "Missing argument 'FILE'"),
    ("unknown command", ["teleport"], "No such command 'teleport'"),
    ("unknown scenario subcommand", ["scenario", "unload", "x"], "No such command 'unload'"),
    ("submit without --text", ["submit", "--frame", "f", "--character", "c"], "Missing option '--text'"),
    ("submit with a bad frame id", ["submit", "--frame", "not-a-uuid", "--character", "kessa", "--text", "hi"],
     "--frame: 'not-a-uuid' is not a valid id"),
    ("submit to a frame that does not exist", ["submit", "--frame", "00000000-0000-0000-0000-000000000001",
                                               "--character", "kessa", "--text", "hi"], "not found"),
    ("directive with a bad frame id", ["directive", "--frame", "x", "--character", "kessa"], "--frame"),
    ("api on 0.0.0.0 with the dev secret", ["api", "--host", "0.0.0.0"], "MEDIUM_JWT_SECRET"),
    ("up on 0.0.0.0 with the dev secret", ["up", "--host", "0.0.0.0"], "MEDIUM_JWT_SECRET"),
    ("worker with a non-numeric concurrency", ["worker", "--concurrency", "many"], "'--concurrency'"),
    ("narrator install of an unknown model", ["narrator", "install", "--model", "gpt-7"], "gpt-7"),
]


async def frames_in(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM public.frames"))
    finally:
        await conn.close()


def text_of(result: Any) -> str:
    return " ".join((result.output or "").split())


def test_the_cli_table(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIUM_JWT_SECRET", raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()
    tally = Tally("cli")
    for case_id, content, says in FILES:
        path = tmp_path / f"{len(tally.kinds)}-{tally.total}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        result = runner.invoke(app, ["scenario", "load", str(path), "--database-url", db_url])
        out = text_of(result)
        assert result.exit_code == 2, (case_id, result.exit_code, out, result.exception)
        assert says in out, (case_id, out)
        assert "Traceback" not in out, case_id
        tally.refused("scenario file")
    for case_id, args, says in ARGS:
        result = runner.invoke(app, args)
        out = text_of(result)
        assert result.exit_code != 0, (case_id, out)
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
            (case_id, repr(result.exception))
        assert says.lower() in out.lower(), (case_id, out)
        tally.refused("arguments")
    assert asyncio.run(frames_in(db_url)) == 0  # nothing was loaded
    doc = tally.save()
    assert doc["refused"] >= 45, doc
