"""Commands that work on one frame's content: ``scenario load`` (install a scenario file),
``submit`` (liquid through the API's code path) and ``directive`` (the prompt a Medium would
send now), and the loaded-scenario document that ``demo`` reuses."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from synthesis import auth, scenario, sessions, store, store_auth
from synthesis.errors import MediumError
from synthesis.settings import Settings
from workers import runtime
from workers.commands.common import DatabaseOpt, fail, prepare_database, run

scenario_app = typer.Typer(help="Scenario files.", no_args_is_help=True)


def player_link(base: str, frame_id: Any, token: str, gm: bool = False) -> str:
    return f"{base.rstrip('/')}/{'gm' if gm else ''}?frame={frame_id}&token={token}"


async def load_scenario(url: str, path: Path, settings: Settings, *, actors_always: bool = False
                        ) -> dict[str, Any]:
    sc = scenario.load_scenario_file(path)  # validate before touching the database
    await prepare_database(url, settings)
    pool = await store.create_pool(url, max_size=2)
    try:
        st = store_auth.AuthStore(pool)
        installed = await scenario.install(st, sc, actors_always=actors_always)
        joins = await make_invites(st, installed)
    finally:
        await pool.close()
    return with_tokens({
        "frame_id": str(installed.frame_id),
        "name": sc.name,
        "gm": {"user_id": str(installed.gm_user_id), "join": joins[None]},
        "characters": [
            {"name": c.name, "id": str(c.id), "handle": c.handle, "user": c.user,
             "user_id": str(c.user_id) if c.user_id else None, "join": joins.get(c.id)}
            for c in installed.characters
        ],
    }, settings)


async def make_invites(st: store_auth.AuthStore, installed: scenario.Installed) -> dict[Any, str]:
    """One invite per player character and one signing in as the GM: ``/join/<code>`` paths by
    character id (None: the GM's). They expire like any invite (``sessions.INVITE_TTL``)."""
    now = datetime.now(UTC)
    expires = sessions.expiry(now, sessions.INVITE_TTL)
    out: dict[Any, str] = {}
    async with st.transaction(lock_frame=installed.frame_id) as conn:
        for c in [None, *(c for c in installed.characters if c.user_id)]:
            code = sessions.new_code()
            await st.create_invite(conn, installed.frame_id, code=code, character_id=c.id if c else None,
                                   label=c.name if c else "GM", created_by=installed.gm_user_id, now=now,
                                   expires_at=expires, max_uses=None,
                                   for_user=None if c else installed.gm_user_id)
            out[c.id if c else None] = f"/join/{code}"
    return out


def with_tokens(doc: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A loaded-scenario document with a fresh access token for the GM and every player."""
    secret = settings.medium_jwt_secret.get_secret_value()
    doc["gm"]["token"] = auth.issue_token(secret, doc["gm"]["user_id"])
    for c in doc["characters"]:
        c["token"] = auth.issue_token(secret, c["user_id"]) if c["user_id"] else None
    return doc


def without_tokens(doc: dict[str, Any]) -> dict[str, Any]:
    """The same document with no bearer tokens in it (safe to keep on disk)."""
    return {**doc, "gm": {k: v for k, v in doc["gm"].items() if k != "token"},
            "characters": [{k: v for k, v in c.items() if k != "token"} for c in doc["characters"]]}


def print_loaded(doc: dict[str, Any], base_url: str | None) -> None:
    """Invite links, never tokens: a token in a link sits in browser history and server logs
    (``--json`` still carries tokens, for scripts)."""
    out = Console()
    base = (base_url or "").rstrip("/")
    out.print(f"[bold]{doc['name']}[/]  frame [cyan]{doc['frame_id']}[/]")
    for c in doc["characters"]:
        who = f"player [green]{c['user']}[/] ({c['user_id']})" if c["user"] else "[dim]NPC[/]"
        out.print(f"  {c['name']:<16} {c['id']}  {who}")
        if c.get("join"):
            out.print(f"    join:  {base}{c['join']}")
    out.print(f"  [bold]GM[/] user {doc['gm']['user_id']}")
    if doc["gm"].get("join"):
        out.print(f"    join:  {base}{doc['gm']['join']}")


@scenario_app.command("load")
def scenario_load(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file (DESIGN §10).")],
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    base_url: Annotated[str, typer.Option(help="Where the API is served, for links.")] =
        "http://127.0.0.1:8000",
) -> None:
    """Validate FILE and create its frame, characters, users and a GM; print tokens and links."""
    settings = Settings()
    try:
        scenario.load_scenario_file(file)
    except MediumError as exc:
        fail(exc)
    with runtime.database_url(settings, database_url) as db:
        doc = run(load_scenario(db.url, file, settings))
    if as_json:
        sys.stdout.write(json.dumps({k: v for k, v in doc.items() if k != "name"}) + "\n")
    else:
        print_loaded(doc, base_url)


def directive(
    frame: Annotated[str, typer.Option("--frame", help="Frame id.")],
    character: Annotated[str, typer.Option("--character", help="Character id or handle.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Print the prompt this character's Medium would send if it woke now."""
    from synthesis import medium
    from synthesis.llm.registry import Registry

    settings = Settings()

    async def go(url: str) -> str:
        pool = await store.create_pool(url, max_size=2)
        try:
            st = store.Store(pool)
            frame_id = _uuid(frame, "--frame")
            cid = await _character_id(st, frame_id, character)
            return await medium.preview(st, Registry(settings), frame_id, cid)
        finally:
            await pool.close()

    with runtime.database_url(settings, database_url) as db:
        text = run(go(db.url))
    sys.stdout.write(text)


def _uuid(value: str, flag: str) -> Any:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(MediumError(f"{flag}: {value!r} is not a valid id"))


async def _character_id(st: store.Store, frame_id: Any, ref: str) -> Any:
    from synthesis.errors import NotFound

    cast = await st.list_characters(frame_id)
    if not cast and await st.get_frame(frame_id) is None:
        raise NotFound(f"frame {frame_id} not found", field="--frame")
    for c in cast:
        if str(c.id) == ref or c.handle == ref or c.name.lower() == ref.lower():
            return c.id
    raise NotFound(f"no character {ref!r} in this frame (handles: "
                   f"{', '.join(c.handle for c in cast)})", field="--character")


def submit(
    frame: Annotated[str, typer.Option("--frame", help="Frame id.")],
    character: Annotated[str, typer.Option("--character", help="Character id, handle or name.")],
    text: Annotated[str, typer.Option("--text", help="The action (liquid).")],
    commit: Annotated[bool, typer.Option("--commit", help="Commit at once (opens the window).")] = False,
    client_key: Annotated[str | None, typer.Option(
        "--client-key", help="Idempotency key: rerunning with the same key returns the first "
                             "submission instead of adding a second action.")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Submit liquid through the same code path as the API (for scripting and GMs)."""
    from synthesis import liquid
    from synthesis.clock import SystemClock
    from synthesis.llm.registry import Registry

    settings = Settings()

    async def go(url: str) -> dict[str, Any]:
        pool = await store.create_pool(url, max_size=2)
        registry = Registry(settings)
        try:
            st = store.Store(pool)
            frame_id = _uuid(frame, "--frame")
            cid = await _character_id(st, frame_id, character)
            sub = await liquid.submit(st, registry, frame_id=frame_id, character_id=cid,
                                      content=text, now=SystemClock().now(), commit=commit,
                                      time_scale=settings.medium_time_scale, client_key=client_key)
            return sub.liquid.model_dump(mode="json")
        finally:
            await registry.aclose()
            await pool.close()

    with runtime.database_url(settings, database_url) as db:
        doc = run(go(db.url))
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
