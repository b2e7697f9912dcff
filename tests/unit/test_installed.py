"""What an installation carries: data directories, optional extras, and what start-up imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api import app
from synthesis import database, installed, migrations
from synthesis.errors import MissingExtra

ROOT = Path(__file__).resolve().parents[2]
# Packages that only an extra installs, and the SDKs that only a real provider needs.
OPTIONAL = ("pgserver", "psutil", "matplotlib", "httpx", "pgqueuer", "procrastinate", "apscheduler",
            "openai", "anthropic")


def test_a_checkout_reads_its_data_in_place() -> None:
    assert migrations.MIGRATIONS_DIR == ROOT / "supabase" / "migrations"
    assert app.WEB_DIR == ROOT / "web"


def test_a_packaged_copy_wins_over_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "src" / "fakepkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    assert installed.data_dir("fakepkg", "_data", "data") == tmp_path / "src" / "data"
    (package / "_data").mkdir()
    assert installed.data_dir("fakepkg", "_data", "data") == package / "_data"


def test_a_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pgqueuer", None)  # `import pgqueuer` now fails as if absent
    with pytest.raises(MissingExtra) as caught, installed.extra("bench", "the pgqueuer peer"):
        import pgqueuer  # noqa: F401
    assert str(caught.value) == ("the pgqueuer peer needs pgqueuer, which is not installed: "
                                 "pip install 'medium[bench]'")
    assert caught.value.details == {"extra": "bench"}


def test_other_errors_pass_through_an_extra() -> None:
    with pytest.raises(ValueError, match="not an import problem"), installed.extra("bench", "anything"):
        raise ValueError("not an import problem")


def test_the_embedded_database_without_pgserver_names_its_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pgserver", None)
    with pytest.raises(MissingExtra, match=r"needs pgserver.*pip install 'medium\[embedded\]'"):
        database.start_embedded(tmp_path)


def test_start_up_imports_no_sdk_and_no_extra() -> None:
    """`medium api` and `medium worker` on the scripted narrator load neither the LLM SDKs
    (seconds of start-up) nor any extra's package (a plain `pip install medium` lacks them)."""
    probe = (
        "import sys\n"
        "import api.app, workers.cli, workers.worker, workers.actors, workers.supervisor\n"
        "from synthesis.llm.registry import Registry\n"
        "from synthesis.settings import Settings\n"
        "Registry(Settings(medium_llm='scripted')).medium()\n"
        "print(' '.join(sorted({m.partition('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    assert set(out.stdout.split()) & set(OPTIONAL) == set()
