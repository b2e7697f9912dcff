"""The wheel, installed into a fresh venv and run outside the checkout, migrates an empty
database and serves the web client from its own package data.

Slow (a wheel build and a venv install, about a minute with a warm pip cache): pip resolves the
dependencies as a user's install would, through its cache and the configured find-links.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from synthesis import migrations
from tests.integration.api_support import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Not part of a build: VCS data, venvs, build output, caches.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__",
                                    ".*_cache", ".hypothesis", "artifacts")


def run(*argv: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run outside the checkout, with nothing of it on the path."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site-packages) with the wheel built from a copy of the source tree
    (so the build can neither write into the checkout nor read outside what it was given)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    ok(run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", work / "dist",
           source, cwd=work))
    (wheel,) = (work / "dist").glob("medium-*.whl")
    ok(run(sys.executable, "-m", "venv", work / "venv", cwd=work))
    ok(run(work / "venv" / "bin" / "pip", "install", "--quiet", wheel, cwd=work, timeout=600))
    return work / "venv"


def test_the_installed_package_reads_its_own_data(venv: Path, tmp_path: Path) -> None:
    probe = ("from synthesis import migrations, scenario; from api import app; "
             "print(migrations.MIGRATIONS_DIR, app.WEB_DIR, scenario.MOS_EISLEY)")
    paths = [Path(p) for p in ok(run(venv / "bin" / "python", "-c", probe, cwd=tmp_path)).split()]
    for path in paths:
        assert path.exists(), path
        assert path.is_relative_to(venv), path
    assert sorted(p.name for p in paths[0].iterdir()) == [m.name for m in migrations.discover()]


def test_the_wheel_migrates_an_empty_database_and_serves_the_client(
        venv: Path, empty_db_url: str, tmp_path: Path) -> None:
    medium = venv / "bin" / "medium"
    out = ok(run(medium, "migrate", "--database-url", empty_db_url, cwd=tmp_path))
    for m in migrations.plan(migrations.discover(), {}):  # a replaced file is not applied
        assert f"applied {m.name}" in out
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    server = subprocess.Popen([medium, "api", "--database-url", empty_db_url, "--port", str(port)],
                              cwd=tmp_path, env={**env, "MEDIUM_LLM": "scripted"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, server)
        for path, source in (("/", "web/index.html"), ("/gm", "web/gm.html"),
                             ("/static/js/player.js", "web/js/player.js")):
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200
                assert response.read() == (ROOT / source).read_bytes(), path
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "Traceback" not in err, err


def test_a_missing_extra_is_named(venv: Path, tmp_path: Path) -> None:
    probe = ("from pathlib import Path; from synthesis import database; "
             "database.start_embedded(Path('data'))")
    result = run(venv / "bin" / "python", "-c", probe, cwd=tmp_path)
    assert result.returncode != 0
    assert "pip install 'medium[embedded]'" in result.stderr


def wait_until_healthy(base: str, server: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"medium api exited {server.returncode}"
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base}/health never answered 200")

