"""The web client's Supabase path (issue 13, item 7): its channel logic against Realtime's
message shapes (``tests/web/broadcast.test.mjs``, node's test runner), and the vendored
supabase-js: the npm package's UMD bundle with its licence, loaded from ``/static`` only."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
VENDOR = WEB / "vendor" / "supabase-js"
SUPABASE_JS_SHA256 = "9ccb70b99860bb81593bd808708f6e1ed86146ef138f1942a37eeb38519d5a81"  # 2.109.0


def test_channel_logic_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run([node, "--test", str(ROOT / "tests" / "web")], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert re.search(r"^# pass [1-9]", out.stdout, re.MULTILINE), out.stdout[-2000:]
    assert re.search(r"^# fail 0$", out.stdout, re.MULTILINE)


def test_supabase_js_is_vendored_with_its_licence() -> None:
    bundle = VENDOR / "supabase.js"
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == SUPABASE_JS_SHA256
    assert bundle.read_text().startswith("var supabase=")  # the UMD global the client uses
    licence = (VENDOR / "LICENSE").read_text()
    assert "MIT License" in licence
    assert "Supabase" in licence
    assert "2.109.0" in (VENDOR / "README.md").read_text()


def test_nothing_is_loaded_from_another_origin() -> None:
    transport = (WEB / "js" / "transport.js").read_text()
    assert "'/static/vendor/supabase-js/supabase.js'" in transport
    for path in [*WEB.glob("*.html"), *(WEB / "js").rglob("*.js")]:
        text = path.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), path
        assert not re.search(r"""import[^'"]*['"](https?:)?//""", text), path
        assert "cdn" not in text.lower(), path
