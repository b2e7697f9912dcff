"""``medium frame export`` / ``medium frame import``: one frame as one JSON file, recreated in
any database with new ids and the same content (synthesis/frame_io.py says the format)."""

from __future__ import annotations

import json
import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from synthesis import frame_io, store
from synthesis.errors import InvalidInput, MediumError
from synthesis.settings import Settings
from synthesis.store_io import FrameIOStore
from workers import runtime
from workers.commands.common import DatabaseOpt, console, fail, prepare_database, run

frame_app = typer.Typer(help="Frames: export one to a JSON file, import one from it.", no_args_is_help=True)


def imported_email(name: str, user_id: uuid.UUID) -> str:
    """A fresh account's address, unique per user (the exported frame's users get new ids)."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-") or "user"
    return f"{slug[:40]}+{user_id.hex}@medium.local"


async def export_frame(url: str, frame_id: uuid.UUID) -> dict[str, Any]:
    pool = await store.create_pool(url, max_size=2)
    try:
        doc = await FrameIOStore(pool).export_frame(frame_id)
    finally:
        await pool.close()
    return frame_io.document(doc, exported_at=datetime.now(UTC).isoformat())


async def import_frame(url: str, doc: Any) -> tuple[uuid.UUID, dict[str, int], dict[str, str]]:
    """Validate, migrate the target, write the frame with new ids. Returns the new frame id,
    its row counts and the user map (old id -> new id)."""
    remapped = frame_io.remap(frame_io.check(doc))
    await prepare_database(url)
    pool = await store.create_pool(url, max_size=2)
    try:
        st = FrameIOStore(pool)
        frame_id = await st.import_frame(remapped, email=imported_email)
        counts = await st.frame_counts(frame_id)
    finally:
        await pool.close()
    users = {u["id"]: remapped["ids"][u["id"]] for u in doc.get("users", [])}
    return frame_id, counts, users


@frame_app.command("export")
def export_command(
    frame: Annotated[str, typer.Option("--frame", help="Frame id.")],
    out: Annotated[Path | None, typer.Option("--out", help="File to write; default: standard output.")] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Write the frame, its characters, affiliations, lore, rules and whole history as one JSON file."""
    try:
        frame_id = uuid.UUID(frame)
    except ValueError:
        fail(InvalidInput(f"--frame: {frame!r} is not a valid id", field="--frame"))
    with runtime.database_url(Settings(), database_url) as db:
        doc = run(export_frame(db.url, frame_id))
    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
    counts = ", ".join(f"{len(doc[t])} {t}" for t in ("characters", "content", "outcomes", "solid"))
    console.print(f"exported frame {frame_id} ({doc['frame']['name']}): {counts}"
                  + (f" → {out}" if out else ""))


@frame_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A file written by `medium frame export`.")],
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recreate the exported frame in this database, with new ids and the same content."""
    try:
        doc = json.loads(file.read_text())
    except OSError as exc:
        fail(MediumError(f"{file}: cannot read: {exc.strerror}"))
    except ValueError as exc:
        fail(InvalidInput(f"{file}: not JSON: {exc}", field="(file)"))
    try:
        frame_io.check(doc)
    except MediumError as exc:
        fail(exc)
    with runtime.database_url(Settings(), database_url) as db:
        frame_id, counts, users = run(import_frame(db.url, doc))
    if as_json:
        sys.stdout.write(json.dumps({"frame_id": str(frame_id), "counts": counts, "users": users}) + "\n")
    else:
        console.print(f"imported as frame {frame_id}: "
                      + ", ".join(f"{n} {t}" for t, n in counts.items()))
        console.print("users got new ids (old → new): " + ", ".join(f"{a} → {b}" for a, b in users.items()))
