"""A fan-out benchmark client process: many WebSocket connections on one asyncio loop, kept
apart from the API process (and from the benchmark driver) so that receiving is not charged
to the gateway under test.

Protocol, one JSON document per line: stdin gives ``{"urls": [...]}``; once every connection
is open the process prints ``{"ready": n}``; the next stdin line (anything) ends the run, and
the process prints ``{"arrivals": [[outcome_id, t], ...], "errors": n}``, where ``t`` is
``CLOCK_MONOTONIC`` seconds at the message's arrival: the same clock in every process of the
machine, so the driver compares it with its own commit times.

    python -m benchmarks.fanout_clients < urls.json
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

CONNECT_CHUNK = 100


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def _read(ws: ClientConnection, raw: list[tuple[float, str]]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            raw.append((now(), str(message)))


async def main() -> None:
    loop = asyncio.get_running_loop()
    urls = json.loads(await loop.run_in_executor(None, sys.stdin.readline))["urls"]
    raw: list[tuple[float, str]] = []
    sockets: list[ClientConnection] = []
    errors = 0
    for start in range(0, len(urls), CONNECT_CHUNK):
        opened = await asyncio.gather(*(connect(u, max_queue=None) for u in urls[start:start + CONNECT_CHUNK]),
                                      return_exceptions=True)
        for ws in opened:
            if isinstance(ws, ClientConnection):
                sockets.append(ws)
            elif isinstance(ws, OSError | InvalidStatus | TimeoutError):
                errors += 1
            else:
                raise ws
    readers = [asyncio.create_task(_read(ws, raw)) for ws in sockets]
    print(json.dumps({"ready": len(sockets), "errors": errors}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    for ws in sockets:
        with contextlib.suppress(ConnectionClosed, OSError):
            await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    arrivals = []
    for at, text in raw:  # parsing happens after the run, off the timed path
        msg = json.loads(text)
        if msg.get("type") == "outcome":
            arrivals.append([msg["data"]["id"], at])
    print(json.dumps({"arrivals": arrivals, "errors": errors}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
