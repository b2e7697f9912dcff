"""The live narrative: from a Medium reply's raw chunks to ``narrative_delta`` texts.

Only the NARRATIVE block is ever forwarded, and only to its owner (and the GM): the OUTCOME
part of the same reply is shared and must first be parsed and guarded, exactly once, as
before. ``NarrativeTap`` reads the text layout (``OUTCOME`` … ``NARRATIVE`` …), so the first
narrative word reaches the player as soon as the model writes it, not after the whole reply;
a closing code fence ends the block, as in ``parse``. The streamed text is a preview: the final
``narrative`` message, after parsing and any repair, is authoritative.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from uuid import UUID

from synthesis.errors import MediumError

log = logging.getLogger(__name__)

_HEADER = re.compile(r"^[ \t#*_>`-]*NARRATIVE[ \t*_:`]*$", re.IGNORECASE)
_BLOCK = re.compile(r"^[ \t#*_>`-]*(OUTCOME|NARRATIVE)\b", re.IGNORECASE)
_FENCE = "```"


class NarrativeTap:
    """``feed(chunk)`` with the raw reply as it streams; ``emit(text)`` gets narrative text.

    ``header=None`` (blind mode's narrative-only call): a reply whose first line opens a block
    is read up to its NARRATIVE header, any other reply is narrative from its first word."""

    def __init__(self, emit: Callable[[str], None], *, header: bool | None = True) -> None:
        self.emit = emit
        self.header = header
        self.started = header is False
        self.done = False
        self._line = ""  # the current, unfinished line before the header was seen
        self._lead = True  # strip the whitespace between the header and the first word
        self._tail = ""  # a possible start of a closing fence, held back

    def feed(self, chunk: str) -> None:
        if self.done or not chunk:
            return
        if not self.started and self.header is None:
            self._line += chunk
            first = self._line.lstrip()
            if "\n" not in first:
                return  # the first line decides
            self.header = bool(_BLOCK.match(first))
            self.started = not self.header
            chunk, self._line = self._line, ""
        if not self.started:
            self._line += chunk
            *lines, self._line = self._line.split("\n")
            for i, line in enumerate(lines):
                if _HEADER.match(line):
                    self.started = True
                    rest = "\n".join([*lines[i + 1:], self._line])
                    self._line = ""
                    self._forward(rest)
                    return
            return
        self._forward(chunk)

    def _forward(self, text: str) -> None:
        text = self._tail + text
        self._tail = ""
        if self._lead:
            text = text.lstrip()
            if not text:
                return
            self._lead = False
        cut = text.find(_FENCE)
        if cut >= 0:
            self.done = True
            text = text[:cut].rstrip()
        else:
            keep = len(text) - len(text.rstrip("`"))  # "``" may be the start of a fence
            text, self._tail = (text[:-keep], text[-keep:]) if keep else (text, "")
        if text:
            self.emit(text)

    def close(self) -> None:
        """The reply ended: release anything held back (a lone backtick is text; a one-line
        reply to a narrative-only call is narrative)."""
        if self.header is None and self._line:
            self.started, line = True, self._line
            self._line = ""
            self._forward(line)
        if self.started and not self.done and self._tail:
            self.emit(self._tail)
        self._tail = ""


DELTA_CHANNEL = "medium_narrative_delta_v1"
MAX_DELTA_CHARS = 2000  # one NOTIFY payload stays far below Postgres's 8000-byte limit


class DeltaPublisher:
    """Sends a window's narrative text, as it streams, as ``narrative_delta`` payloads.

    ``__call__`` (a sync sink for ``NarrativeTap``) only queues; ``run`` sends, coalescing
    whatever queued while the previous send was in flight into one payload, so a fast model
    costs few NOTIFYs. ``seq`` counts from 1 per synthesis attempt: a client that sees seq 1
    again for a window restarts its preview. Deltas are at-most-once: a failed send is dropped
    (the final ``narrative`` event is authoritative and durable)."""

    def __init__(self, send: Callable[[str], Awaitable[None]], *, frame_id: UUID, window_id: UUID,
                 character_id: UUID, user_id: UUID | None) -> None:
        self.send = send
        self.base = {"frame_id": str(frame_id), "window_id": str(window_id),
                     "character_id": str(character_id), "user_id": str(user_id) if user_id else None}
        self.seq = 0
        self.sent = 0
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()

    def __call__(self, text: str) -> None:
        self._queue.put_nowait(text)

    async def run(self) -> None:
        """Send until ``close()``; returns once everything queued before it was sent."""
        while True:
            first = await self._queue.get()
            parts = [first]
            while not self._queue.empty():
                parts.append(self._queue.get_nowait())
            done = None in parts
            text = "".join(p for p in parts if p)
            for i in range(0, len(text), MAX_DELTA_CHARS):
                await self._send(text[i:i + MAX_DELTA_CHARS])
            if done:
                return

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def _send(self, text: str) -> None:
        self.seq += 1
        try:
            await self.send(json.dumps({**self.base, "seq": self.seq, "text": text}))
            self.sent += 1
        except MediumError as exc:
            log.warning("narrative delta dropped", extra={
                "action": "narrative_delta_dropped", "window_id": self.base["window_id"], "error": str(exc)})
