"""`MEDIUM_LLM=local`: llama.cpp's OpenAI-compatible server, supervised, on loopback only.

`LocalServer.ensure()` returns the base URL of a server for one GGUF. It reuses the server
another medium process of the same data dir already runs (recorded in
`narrator/server.json`: pid, port, model), else starts one as this process's child:

    <runtime>/bin/python -m llama_cpp.server --model M --model_alias narrator
        --n_threads 2 --n_ctx 4096 --host 127.0.0.1 --port <free>

A file lock serialises the check-and-start, so an API and two workers starting at once
share one server (one model in memory; it answers one request at a time anyway). A child
we started dies with us (PR_SET_PDEATHSIG on Linux, `stop()` otherwise) and is restarted
by the next `ensure()` if it died; a reused server is never stopped by a process that did
not start it. The reuse probe looks at the pid and the port, never at an HTTP endpoint:
llama-cpp-python's endpoints wait behind a running generation.

`LocalLLM` is the `LLM` over it: the openai adapter in its `json_object` + `schema` form.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis.errors import LLMTransientError
from synthesis.llm import install
from synthesis.llm.base import Completion, Message

log = logging.getLogger(__name__)

ALIAS = "narrator"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 180.0  # seconds: loading a 1 GB model from a cold disk on 2 busy cores
PLACEHOLDER_KEY = "not-needed"

if TYPE_CHECKING:
    from synthesis.llm.openai_adapter import OpenAIAdapter


class LocalServer:
    """One llama.cpp server for `model_path`, started or reused (see the module docstring)."""

    def __init__(self, paths: install.Paths, model_path: Path, *, n_threads: int = 2,
                 n_ctx: int = 4096, startup_timeout: float = STARTUP_TIMEOUT) -> None:
        self.paths, self.model_path = paths, model_path
        self.n_threads, self.n_ctx, self.startup_timeout = n_threads, n_ctx, startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url: str | None = None
        self.restarts = 0

    @property
    def state_file(self) -> Path:
        return self.paths.root / "server.json"

    @property
    def log_file(self) -> Path:
        return self.paths.root / "server.log"

    def ensure(self) -> str:
        """The base URL (`http://127.0.0.1:<port>`) of a running server. Blocking: call it in
        a thread from async code. Raises `LLMTransientError` when the server cannot start."""
        if self.process is not None and self.process.poll() is None and self.base_url:
            return self.base_url
        with self._lock():
            reused = self._reusable()
            if reused is not None:
                if reused != self.base_url:
                    log.info("reusing local narrator server", extra={
                        "action": "local_server_reuse", "url": reused, "model": str(self.model_path)})
                self.base_url = reused
                return reused
            if self.process is not None:
                self.restarts += 1
                log.warning("local narrator server exited; restarting", extra={
                    "action": "local_server_restart", "returncode": self.process.poll()})
            return self._start()

    def _reusable(self) -> str | None:
        try:
            state = json.loads(self.state_file.read_text())
            pid, port, model = int(state["pid"]), int(state["port"]), str(state["model"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if model != str(self.model_path) or not _serving(pid, port):
            return None
        return f"http://{HOST}:{port}"

    def _start(self) -> str:
        python = self.paths.python
        if not python.exists():
            raise LLMTransientError("the local narrator runtime is not installed; run "
                                    "`medium narrator install`", provider="local")
        port = _free_port()
        argv = [str(python), "-m", "llama_cpp.server", "--model", str(self.model_path),
                "--model_alias", ALIAS, "--n_threads", str(self.n_threads), "--n_ctx",
                str(self.n_ctx), "--host", HOST, "--port", str(port)]
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        url = f"http://{HOST}:{port}"
        log.info("starting local narrator server", extra={
            "action": "local_server_start", "pid": self.process.pid, "url": url,
            "model": str(self.model_path)})
        deadline = time.monotonic() + self.startup_timeout
        while not _models_answer(url):
            if self.process.poll() is not None:
                raise LLMTransientError(f"the local narrator server exited with code "
                                        f"{self.process.returncode}; see {self.log_file}", provider="local")
            if time.monotonic() > deadline:
                self._terminate()
                raise LLMTransientError(f"the local narrator server did not answer within "
                                        f"{self.startup_timeout:g}s; see {self.log_file}", provider="local")
            time.sleep(0.25)
        self.state_file.write_text(json.dumps({"pid": self.process.pid, "port": port,
                                               "model": str(self.model_path)}))
        self.base_url = url
        return url

    def stop(self) -> None:
        """Stop the server if this process started it (idempotent); a reused one keeps running."""
        if self.process is None:
            return
        pid = self.process.pid
        self._terminate()
        try:
            if json.loads(self.state_file.read_text()).get("pid") == pid:
                self.state_file.unlink()
        except (OSError, ValueError):
            pass
        log.info("stopped local narrator server", extra={"action": "local_server_stop", "pid": pid})

    def _terminate(self) -> None:
        proc, self.process, self.base_url = self.process, None, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        with (self.paths.root / "server.lock").open("w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _serving(pid: int, port: int) -> bool:
    """A live llama.cpp server process with that pid accepts connections on that port."""
    import psutil  # the `embedded` extra; only a process that reuses a local server needs it

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE or "llama_cpp.server" not in " ".join(proc.cmdline()):
            return False
    except psutil.Error:
        return False
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def _models_answer(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=2.0) as response:  # noqa: S310  http on loopback
            ids = [m.get("id") for m in json.loads(response.read()).get("data", [])]
    except (OSError, ValueError):
        return False
    return ALIAS in ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies (Linux), so no server outlives us
    (SIGKILL, not SIGTERM: uvicorn would first finish the generation in progress)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    os.setpgrp()  # a Ctrl-C to the terminal goes to us; we stop the server in order


class LocalLLM:
    """The `LLM` for a local GGUF: ensures the server, then calls it via the openai adapter.

    `model` arguments are ignored on the wire: the server serves one model, as "narrator".
    `aclose()` closes the client and stops the server if this process started it.
    """

    provider = "local"

    def __init__(self, server: LocalServer, *, timeout: float) -> None:
        self.server, self.timeout = server, timeout
        self._adapter: OpenAIAdapter | None = None
        self._url: str | None = None

    async def _current(self) -> OpenAIAdapter:
        url = await asyncio.to_thread(self.server.ensure)
        if self._adapter is None or url != self._url:
            if self._adapter is not None:
                await self._adapter.aclose()
            import openai  # imported when a local server is used, not at start-up

            from synthesis.llm.openai_adapter import OpenAIAdapter

            client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=PLACEHOLDER_KEY,
                                        timeout=self.timeout, max_retries=0)
            self._adapter = OpenAIAdapter(client, provider=self.provider, max_tokens_param="max_tokens",
                                          structured="json_object")
            self._url = url
        return self._adapter

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        adapter = await self._current()
        done = await adapter.complete(messages, model=ALIAS, json_schema=json_schema,
                                      max_tokens=max_tokens, temperature=temperature)
        return Completion(text=done.text, usage=done.usage, model=model, provider=self.provider,
                          truncated=done.truncated)

    async def aclose(self) -> None:
        if self._adapter is not None:
            await self._adapter.aclose()
            self._adapter = None
        await asyncio.to_thread(self.server.stop)
