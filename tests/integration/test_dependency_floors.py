"""The dependency floors in pyproject.toml work: a venv holding exactly the floor of every runtime
dependency passes the tests that use what those floors promise.

The slow test pins each ``name>=X`` of ``project.dependencies`` to ``name==X`` and runs, in that
venv, the tests of the LLM adapters, wrappers and streaming (openai, anthropic, pydantic, tenacity), the REST
API (fastapi, asyncpg), the realtime gateway over uvicorn's ``websockets-sansio`` with the
``websockets.asyncio`` client, the scenario CLI (typer), and the client options below.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tomllib
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from packaging.requirements import Requirement
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.api_support import free_port

ROOT = Path(__file__).resolve().parents[2]
# What the floors must carry; test tools are the only packages installed unpinned.
TESTS = [
    "tests/unit/test_llm_adapters.py",
    "tests/unit/test_llm_wrappers.py",
    "tests/unit/test_llm_stream.py",
    "tests/unit/test_narrative_json_tap.py",
    "tests/integration/test_api_rest.py",
    "tests/integration/test_api_realtime.py::test_close_codes",
    "tests/integration/test_api_realtime.py::test_catch_up_then_live_routes_by_audience",
    "tests/integration/test_scenario_load.py::test_cli_scenario_load_json",
    "tests/integration/test_scenario_load.py::test_cli_bad_scenario_exits_2_with_field",
    f"{Path(__file__).relative_to(ROOT)}::test_websocket_client_options_against_uvicorn_sansio",
]
TEST_TOOLS = ["pytest", "pytest-asyncio", "httpx", "hypothesis"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]


def floors() -> dict[str, str]:
    """``{name: floor}`` for every runtime dependency (its ``>=`` version)."""
    out = {}
    for req in runtime_requirements():
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"{req}: every runtime dependency states one floor (>=)"
        out[req.name] = lows[0]
    return out


def test_every_runtime_dependency_has_a_floor() -> None:
    assert set(floors()) == {r.name for r in runtime_requirements()}


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """A WebSocket-only ASGI app: refuses the handshake on ``/refused``, closes with 4403 on
    ``/closed``, and echoes text anywhere else."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    if scope["path"] == "/refused":
        await send({"type": "websocket.close"})  # before accepting: an HTTP 403
        return
    await send({"type": "websocket.accept"})
    if scope["path"] == "/closed":
        await send({"type": "websocket.close", "code": 4403})
        return
    while (message := await receive())["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": message["text"]})


async def test_websocket_client_options_against_uvicorn_sansio() -> None:
    """The options the gateway, the load test and the benchmarks pass, on both ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_echo, host="127.0.0.1", port=port, ws="websockets-sansio",
                                           ws_ping_interval=20.0, ws_ping_timeout=20.0, lifespan="off",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        base = f"ws://127.0.0.1:{port}"
        async with connect(f"{base}/echo", open_timeout=10, compression=None, proxy=None,
                           max_queue=None) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
        async with connect(f"{base}/closed", proxy=None) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4403
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{base}/refused", proxy=None)
        assert refused.value.response.status_code == 403
    finally:
        server.should_exit = True
        await task


@pytest.mark.slow
def test_the_floors_pass_the_tests_that_use_them(tmp_path: Path) -> None:
    constraints = tmp_path / "floors.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in floors().items()))
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    install = subprocess.run(
        [venv / "bin" / "pip", "install", "--quiet", "--constraint", constraints,
         *[str(r) for r in runtime_requirements()], *TEST_TOOLS],
        env=env, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    # The checkout's own packages are imported from ROOT (pytest's rootdir), not installed.
    result = subprocess.run(
        [venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"on the floors {constraints.read_text()}\n{result.stdout[-6000:]}"
