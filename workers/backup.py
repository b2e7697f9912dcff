"""``medium backup`` and ``medium restore``: pg_dump and pg_restore for the configured or embedded
database, with progress.

The tools: ``--pg-bin DIR`` when given; else the first of ``pg_dump`` on PATH and the embedded
server's own (pgserver ships PostgreSQL 16's) whose major version is at least the server's
(pg_dump refuses a newer server). A backup is pg_dump's custom format (``-Fc``: compressed,
restorable table by table). A restore first applies the migrations to the target, so the roles
the grants name (anon, authenticated, service_role) exist, then runs
``pg_restore --clean --if-exists --no-owner``: what the dump holds replaces what is there.

Progress: pg_dump's ``--verbose`` names each table whose data it writes; pg_restore's names each
item it creates or fills, out of the archive's table of contents (``pg_restore --list``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from synthesis.errors import MediumError

Progress = Callable[[str], None]  # one verbose line of the tool
_VERSION = re.compile(r"\) (\d+)")


def tool_major(path: Path) -> int:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True).stdout
    m = _VERSION.search(out)
    return int(m.group(1)) if m else 0


def embedded_bin() -> Path | None:
    try:
        from pgserver import _commands  # the `embedded` extra
    except ImportError:
        return None
    return Path(_commands.POSTGRES_BIN_PATH)


def find_tool(name: str, server_major: int, *, pg_bin: Path | None = None) -> Path:
    """The ``name`` binary to use against a server of ``server_major`` (see the module doc)."""
    if pg_bin is not None:
        candidates = [pg_bin / name]
    else:
        on_path = shutil.which(name)
        embedded = embedded_bin()
        candidates = [Path(p) for p in (on_path, embedded / name if embedded else None) if p]
    seen = []
    for c in candidates:
        if c.exists():
            major = tool_major(c)
            seen.append(f"{c} ({major})")
            if major >= server_major:
                return c
    raise MediumError(f"no {name} for PostgreSQL {server_major} (found: {', '.join(seen) or 'none'}); "
                      f"install the PostgreSQL {server_major} client tools or pass --pg-bin DIR")


def _stream(cmd: list[str], on_line: Progress) -> tuple[int, list[str]]:
    """Run ``cmd``; every stderr line goes to ``on_line``; returns (exit code, the error lines).
    The database URL is passed as an argument, never printed."""
    errors: list[str] = []
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as proc:
        assert proc.stderr is not None  # noqa: S101  Popen(stderr=PIPE) sets it
        for line in proc.stderr:
            line = line.rstrip()
            on_line(line)
            if "error" in line.lower():
                errors.append(line)
    return proc.returncode, errors


def dump(url: str, out_file: Path, *, tool: Path, on_line: Progress) -> None:
    code, errors = _stream([str(tool), "--format=custom", "--verbose", "--file", str(out_file),
                            "--dbname", url], on_line)
    if code != 0:
        out_file.unlink(missing_ok=True)
        raise MediumError(f"pg_dump failed ({code}): {'; '.join(errors[-3:]) or 'see above'}")


def toc_entries(archive: Path, *, tool: Path) -> int:
    out = subprocess.run([str(tool), "--list", str(archive)], capture_output=True, text=True)
    if out.returncode != 0:
        raise MediumError(f"{archive}: not a pg_dump archive ({out.stderr.strip()[:200]})")
    return sum(1 for line in out.stdout.splitlines() if line and not line.startswith(";"))


def restore(url: str, archive: Path, *, tool: Path, on_line: Progress) -> None:
    code, errors = _stream([str(tool), "--verbose", "--clean", "--if-exists", "--no-owner",
                            "--exit-on-error", "--dbname", url, str(archive)], on_line)
    if code != 0:
        raise MediumError(f"pg_restore failed ({code}): {'; '.join(errors[-3:]) or 'see above'}")


def is_item(line: str) -> bool:
    """A verbose line that marks one unit of progress."""
    return bool(re.match(r"pg_(dump|restore): (dumping contents of table|creating|processing data)", line))
