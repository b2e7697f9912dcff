"""`MEDIUM_LLM=local`: the supervisor starts, reuses, restarts and stops a real child process.

The "runtime" here is a stand-in for llama.cpp's server (a tiny stdlib HTTP server speaking
the two endpoints used), launched exactly as the real one is, so no compile is needed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import sys
from pathlib import Path

import pytest

from synthesis.llm import install, local
from synthesis.llm.base import stream
from synthesis.llm.registry import LOCAL_CONCURRENCY, LOCAL_TIMEOUT, Registry
from synthesis.settings import Settings

FAKE_SERVER = '''
import json, sys, http.server
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
assert args[args.index("--host") + 1] == "127.0.0.1"
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def _send(self, doc):
        body = json.dumps(doc).encode()
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        self._send({"object": "list", "data": [{"id": "narrator", "object": "model", "owned_by": "me"}]})
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = json.dumps({"model": req["model"], "response_format": req.get("response_format", {}).get("type")})
        if req.get("stream"):  # as llama-cpp-python 0.3.36: stream_options ignored, no usage chunk
            self.send_response(200); self.send_header("content-type", "text/event-stream"); self.end_headers()
            def chunk(delta, finish=None):
                doc = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": req["model"],
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
                self.wfile.write(b"data: " + json.dumps(doc).encode() + b"\\n\\n"); self.wfile.flush()
            chunk({"role": "assistant"})
            for i in range(0, len(text), 4):
                chunk({"content": text[i:i + 4]})
            chunk({}, "stop")
            self.wfile.write(b"data: [DONE]\\n\\n")
            self.close_connection = True
            return
        self._send({"id": "x", "object": "chat.completion", "created": 0, "model": req["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
'''


@pytest.fixture
def paths(tmp_path: Path) -> install.Paths:
    p = install.Paths(tmp_path / "data")
    p.python.parent.mkdir(parents=True)
    script = tmp_path / "fake_llama_server.py"
    script.write_text(FAKE_SERVER)
    p.python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    p.python.chmod(p.python.stat().st_mode | stat.S_IEXEC)
    model = p.model_file(install.MODELS["qwen2.5-coder-0.5b"])
    model.parent.mkdir(parents=True)
    model.write_bytes(b"GGUF")
    return p


def _model(paths: install.Paths) -> Path:
    return paths.model_file(install.MODELS["qwen2.5-coder-0.5b"])


def test_start_reuse_restart_and_stop(paths: install.Paths) -> None:
    owner = local.LocalServer(paths, _model(paths), startup_timeout=30)
    url = owner.ensure()
    assert url.startswith("http://127.0.0.1:")
    assert owner.process is not None
    state = json.loads(owner.state_file.read_text())
    assert state["pid"] == owner.process.pid
    assert state["model"] == str(_model(paths))

    other = local.LocalServer(paths, _model(paths))  # another process of the same data dir
    assert other.ensure() == url
    assert other.process is None
    other.stop()  # a reuser never stops it
    assert owner.process.poll() is None

    os.kill(owner.process.pid, signal.SIGKILL)
    owner.process.wait()
    again = owner.ensure()  # it died: supervised, so restarted
    assert owner.restarts == 1
    assert again != ""
    assert owner.process.poll() is None
    owner.stop()
    owner.stop()  # idempotent
    assert owner.process is None
    assert not owner.state_file.exists()


async def test_local_llm_uses_the_json_object_form_and_the_alias(paths: install.Paths) -> None:
    llm = local.LocalLLM(local.LocalServer(paths, _model(paths), startup_timeout=30), timeout=30)
    try:
        done = await llm.complete([{"role": "user", "content": "hi"}], model="qwen2.5-coder-0.5b",
                                  json_schema={"type": "object", "properties": {"n": {"type": "string",
                                                                                      "maxLength": 5000}}})
    finally:
        await llm.aclose()
    assert json.loads(done.text) == {"model": "narrator", "response_format": "json_object"}
    assert done.provider == "local"
    assert done.model == "qwen2.5-coder-0.5b"
    assert llm.server.process is None  # stopped with its owner


async def test_local_llm_streams(paths: install.Paths) -> None:
    llm = local.LocalLLM(local.LocalServer(paths, _model(paths), startup_timeout=30), timeout=30)
    deltas: list[str] = []
    try:
        done = await stream(llm, [{"role": "user", "content": "hi"}], on_delta=deltas.append,
                            model="qwen2.5-coder-0.5b", json_schema={"type": "object"})
    finally:
        await llm.aclose()
    assert len(deltas) > 5
    assert "".join(deltas) == done.text
    assert json.loads(done.text) == {"model": "narrator", "response_format": "json_object"}
    assert done.usage.completion_tokens == len(deltas)  # one token per chunk: no usage chunk
    assert done.provider == "local"
    assert not done.truncated


def test_registry_resolves_local_with_queue_friendly_limits(paths: install.Paths) -> None:
    registry = Registry(Settings(MEDIUM_DATA_DIR=str(paths.data_dir), MEDIUM_LLM="local"))
    llm, model, label = registry.medium()
    assert (model, label) == ("qwen2.5-coder-0.5b", "local:qwen2.5-coder-0.5b")
    assert registry.json_mode(llm)
    assert registry.soft_timeout(llm) > 5
    limited = llm.inner.inner  # type: ignore[attr-defined]
    assert limited.limit == LOCAL_CONCURRENCY
    assert limited.inner.seconds == LOCAL_TIMEOUT


def test_local_without_a_model_says_how_to_install_and_runs_scripted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry(Settings(MEDIUM_DATA_DIR=str(tmp_path), MEDIUM_LLM="local"))
    with caplog.at_level(logging.WARNING):
        first = registry.medium()
        second = registry.medium()
    assert first[2] == second[2] == "scripted narrator (offline)"
    lines = [r.getMessage() for r in caplog.records if "narrator install" in r.getMessage()]
    assert len(lines) == 1
    assert "medium narrator install" in lines[0]
