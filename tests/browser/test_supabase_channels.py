"""The web client's Supabase path in Chromium with the real, vendored supabase-js (issue 13,
item 7): ``web/js/transport.js`` picks Broadcast from ``GET /config``, and ``broadcast.js``
joins private channels through supabase-js against a stand-in Realtime that speaks its wire
protocol (Phoenix channels, serializer 2.0.0: text frames ``[join_ref, ref, topic, event,
payload]``): the ``phx_join`` it sends, the ``phx_reply`` it gets, and a database broadcast as
Realtime relays it (event ``broadcast``, payload ``{type: 'broadcast', event, payload}``).

The page and ``web/`` are served by a small loopback HTTP server (Chromium lets only a loopback
page open a loopback WebSocket)."""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
FRAME = "6a1f6c0e-0000-4000-8000-000000000001"
USER = "0b5e0000-0000-4000-8000-0000000000aa"


def _b64(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


# A token of Supabase Auth's shape (the stand-in does not check signatures; Realtime does).
TOKEN = ".".join([_b64({"alg": "ES256", "kid": "k1"}), _b64({"sub": USER, "role": "authenticated",
                                                             "aud": "authenticated"}), "sig"])

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script type="module">
import { openRealtime } from '/static/js/transport.js';
window.got = []; window.statuses = []; window.calls = [];
window.db = { outcomes: [], solid: [], timers: [], liquid: [], frame: { id: '%(frame)s' } };
const after = (rows, since) => rows.filter((r) => r.seq > since);
const api = {
  config: async () => ({ narrator: 'x', time_scale: 1, realtime: 'supabase',
                         supabase: { url: '%(url)s', anon_key: 'anon-key' } }),
  outcomes: async (id, since) => { calls.push(['outcomes', since]); return after(db.outcomes, since); },
  solid: async (id, since) => { calls.push(['solid', since]); return after(db.solid, since); },
  timers: async () => db.timers, liquid: async () => db.liquid, frame: async () => db.frame,
};
window.open_ = async (token, gm) => {
  window.rt = await openRealtime(api, { frameId: '%(frame)s', token, since: 0, gm,
    onMessage: (m) => got.push(m), onStatus: (s, d) => statuses.push([s, d]) });
  window.kind = window.rt.constructor.name;
  window.rt.start();
};
window.ready = true;
</script></head><body></body></html>"""


@dataclass
class FakeRealtime:
    """Answers joins (``refuse``: topics answered with Realtime's authorisation error) and
    heartbeats, records what the client sent, and pushes broadcasts to a joined topic."""

    refuse: set[str] = field(default_factory=set)
    sent: list[list[Any]] = field(default_factory=list)
    joined: dict[str, ServerConnection] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, ws: ServerConnection) -> None:
        self.urls.append(ws.request.path if ws.request else "")
        try:
            for raw in ws:
                join_ref, ref, topic, event, payload = json.loads(raw)
                with self.lock:
                    self.sent.append([join_ref, ref, topic, event, payload])
                if event == "phx_join":
                    short = topic.removeprefix("realtime:")
                    if short in self.refuse:
                        reply = {"status": "error", "response": {
                            "reason": f"Unauthorized: You do not have permissions to read from this "
                                      f"Channel topic: {short}"}}
                    else:
                        reply = {"status": "ok", "response": {"postgres_changes": []}}
                        self.joined[short] = ws
                    ws.send(json.dumps([join_ref, ref, topic, "phx_reply", reply]))
                elif event == "heartbeat":
                    ws.send(json.dumps([None, ref, "phoenix", "phx_reply", {"status": "ok", "response": {}}]))
        except ConnectionClosed:
            pass

    def broadcast(self, topic: str, payload: dict[str, Any]) -> None:
        """What Realtime relays of ``realtime.send(payload, event, topic, true)``."""
        message = {"type": "broadcast", "event": payload["type"], "payload": payload,
                   "meta": {"id": "00000000-0000-4000-8000-000000000099"}}
        self.joined[topic].send(json.dumps([None, None, f"realtime:{topic}", "broadcast", message]))

    def joins(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {m[2].removeprefix("realtime:"): m[4] for m in self.sent if m[3] == "phx_join"}


@pytest.fixture
def realtime() -> Iterator[tuple[FakeRealtime, str]]:
    fake = FakeRealtime()
    server: Server = serve(fake.handler, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.socket.getsockname()[1]
    try:
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class _Static(SimpleHTTPRequestHandler):
    """``/t.html`` (the test page) and ``/static/…`` (``web/``), nothing else."""

    page = ""

    def do_GET(self) -> None:
        if self.path == "/t.html":
            body = self.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.startswith("/static/"):
            self.send_error(404)
            return
        self.path = self.path.removeprefix("/static")
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def site(realtime: tuple[FakeRealtime, str]) -> Iterator[str]:
    handler = functools.partial(type("Page", (_Static,), {"page": PAGE % {"frame": FRAME, "url": realtime[1]}}),
                                directory=str(WEB))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def open_page(browser: Any, site: str) -> Any:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/t.html")
    page.wait_for_function("window.ready === true")
    page.errors = errors
    return page


def wait(predicate: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.browser
def test_a_player_joins_private_channels_with_its_token_and_gets_rows(
        browser: Any, realtime: tuple[FakeRealtime, str], site: str) -> None:
    fake, _ = realtime
    page = open_page(browser, site)
    page.evaluate("([t]) => window.open_(t, false)", [TOKEN])
    wait(lambda: len(fake.joined) == 2, "both joins")
    assert page.evaluate("window.kind") == "BroadcastRealtime"
    assert fake.urls[0].startswith("/realtime/v1/websocket?")
    assert "apikey=anon-key" in fake.urls[0]
    joins = fake.joins()
    assert set(joins) == {f"frame:{FRAME}", f"user:{USER}"}
    for payload in joins.values():
        assert payload["config"]["private"] is True
        assert payload["access_token"] == TOKEN
    page.wait_for_function("window.statuses.some(([s]) => s === 'connected')")
    page.wait_for_function("window.got.some((m) => m.type === 'frame')")  # the catch-up ran
    page.evaluate("db.outcomes.push({id: 'o1', seq: 3}); db.solid.push({id: 's1', seq: 4})")
    fake.broadcast(f"frame:{FRAME}", {"type": "outcome", "cursor": 5, "id": "o1", "frame_id": FRAME})
    fake.broadcast(f"user:{USER}", {"type": "narrative", "cursor": 6, "id": "s1", "frame_id": FRAME})
    page.wait_for_function("window.got.some((m) => m.type === 'narrative')")
    got = page.evaluate("window.got.filter((m) => m.type === 'outcome' || m.type === 'narrative')")
    assert [(m["type"], m["data"]["id"]) for m in got] == [("outcome", "o1"), ("narrative", "s1")]
    assert page.evaluate("window.rt.cursor") == 6
    assert page.errors == []


@pytest.mark.browser
def test_a_refused_gm_join_is_shown_as_denied(browser: Any, realtime: tuple[FakeRealtime, str],
                                              site: str) -> None:
    fake, _ = realtime
    fake.refuse.add(f"frame:{FRAME}:gm")
    page = open_page(browser, site)
    page.evaluate("([t]) => window.open_(t, true)", [TOKEN])
    page.wait_for_function("window.statuses.some(([s]) => s === 'denied')")
    assert set(fake.joins()) == {f"frame:{FRAME}:gm"}
    assert page.errors == []
