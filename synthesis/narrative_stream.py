"""The live narrative: from a Medium reply's raw chunks to ``narrative_delta`` texts.

Only the NARRATIVE block is ever forwarded, and only to its owner (and the GM): the OUTCOME
part of the same reply is shared and must first be parsed and guarded, exactly once, as
before. ``NarrativeTap`` reads the text layout (``OUTCOME`` … ``NARRATIVE`` …), so the first
narrative word reaches the player as soon as the model writes it, not after the whole reply;
a closing code fence ends the block, as in ``parse``. The streamed text is a preview: the final
``narrative`` message, after parsing and any repair, is authoritative.

``JsonNarrativeTap`` does the same for a JSON reply: it decodes the top-level ``narrative``
string as it streams (escapes split across chunks included), so a reply that writes its
``outcome`` first, as the schema orders it, streams its narrative as soon as it begins.
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


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_PLAIN = re.compile(r'[^"\\]+')


class JsonNarrativeTap:
    """``feed(chunk)`` with a JSON reply as it streams; ``emit(text)`` gets the decoded value of
    the top-level ``narrative`` string, at most once per chunk, as ``json.loads`` would decode it.

    Text before the object (prose, a code fence) is skipped; an object that closes without a
    ``narrative`` key (prose "in {json} form") is passed over for the next one. Only a key of
    the outermost object counts, so a ``narrative`` inside ``outcome`` is not forwarded."""

    KEY = "narrative"

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.done = False
        self._depth = 0  # {/[ nesting outside strings; 1 = inside the reply's object
        self._role: str | None = None  # inside a string: "key", "value" (the narrative) or "skip"
        self._want_key = False  # at depth 1, the next string is a key
        self._key: list[str] = []  # the depth-1 key being read
        self._value_of: str | None = None  # the key whose value comes next (after its ':')
        self._escape = ""  # an escape not complete yet: "\\", "\\u", "\\u00"...
        self._high = ""  # a high surrogate waiting for its low half

    def feed(self, chunk: str) -> None:
        if self.done or not chunk:
            return
        out: list[str] = []
        i = 0
        while i < len(chunk) and not self.done:
            if self._role is not None:
                i = self._string(chunk, i, out)
            else:
                self._structure(chunk[i])
                i += 1
        if text := "".join(out):
            self.emit(text)

    def close(self) -> None:
        """The reply ended (nothing is held back but an incomplete escape, which is dropped)."""

    def _structure(self, ch: str) -> None:
        if self._depth == 0:
            if ch == "{":
                self._depth, self._want_key, self._value_of = 1, True, None
            return
        if ch == '"':
            if self._depth > 1:
                self._role = "skip"
            elif self._want_key:
                self._role, self._key = "key", []
            else:
                self._role = "value" if self._value_of == self.KEY else "skip"
                self._value_of = None
        elif ch in "{[":
            self._depth += 1
        elif ch in "}]":
            self._depth -= 1
        elif self._depth == 1 and ch == ",":
            self._want_key, self._value_of = True, None
        elif self._depth == 1 and ch not in " \t\r\n:":
            self._value_of = None  # a number or literal: the value is not a string

    def _string(self, chunk: str, i: int, out: list[str]) -> int:
        """Read string content from ``chunk[i]``; returns where reading stopped."""
        sink = out if self._role == "value" else self._key if self._role == "key" else None
        if not self._escape:
            plain = _PLAIN.match(chunk, i)
            if plain:
                if sink is not None:
                    sink.append(self._high + plain.group())
                self._high = ""
                return plain.end()
            if chunk[i] == '"':
                self._close_string(sink)
                return i + 1
        self._escape += chunk[i]
        if self._escape.startswith("\\u"):
            if len(self._escape) < 6:
                return i + 1
            code = int(self._escape[2:], 16) if all(c in "0123456789abcdefABCDEF" for c in self._escape[2:]) else None
            self._escape = ""
            if code is not None and sink is not None:
                self._decode(code, sink)
        elif len(self._escape) == 2:
            decoded = _ESCAPES.get(self._escape[1], "")
            self._escape = ""
            if sink is not None and decoded:
                sink.append(self._high + decoded)
                self._high = ""
        return i + 1

    def _decode(self, code: int, sink: list[str]) -> None:
        if 0xD800 <= code <= 0xDBFF:  # a high surrogate: its low half may follow
            sink.append(self._high)
            self._high = chr(code)
        elif 0xDC00 <= code <= 0xDFFF and self._high:
            sink.append(chr(0x10000 + ((ord(self._high) - 0xD800) << 10) + (code - 0xDC00)))
            self._high = ""
        else:
            sink.append(self._high + chr(code))
            self._high = ""

    def _close_string(self, sink: list[str] | None) -> None:
        if sink is not None:
            sink.append(self._high)
        self._high = ""
        if self._role == "key":
            self._value_of, self._want_key = "".join(self._key), False
        elif self._role == "value":
            self.done = True
        self._role = None


DELTA_CHANNEL = "medium_narrative_delta_v1"
MAX_DELTA_CHARS = 2000  # one NOTIFY payload stays far below Postgres's 8000-byte limit


class _Restart:
    """Queued by ``DeltaPublisher.restart``."""


_RESTART = _Restart()


class DeltaPublisher:
    """Sends a window's narrative text, as it streams, as ``narrative_delta`` payloads.

    ``__call__`` (a sync sink for ``NarrativeTap``) only queues; ``run`` sends, coalescing
    whatever queued while the previous send was in flight into one payload, so a fast model
    costs few NOTIFYs. ``seq`` counts from 1 per synthesis attempt and again after
    ``restart()`` (a retried LLM call streams from its start): a client that sees seq 1 again
    for a window restarts its preview. Deltas are at-most-once: a failed send is dropped (the
    final ``narrative`` event is authoritative and durable)."""

    def __init__(self, send: Callable[[str], Awaitable[None]], *, frame_id: UUID, window_id: UUID,
                 character_id: UUID, user_id: UUID | None) -> None:
        self.send = send
        self.base = {"frame_id": str(frame_id), "window_id": str(window_id),
                     "character_id": str(character_id), "user_id": str(user_id) if user_id else None}
        self.seq = 0
        self.sent = 0
        self._queue: asyncio.Queue[str | _Restart | None] = asyncio.Queue()

    def __call__(self, text: str) -> None:
        self._queue.put_nowait(text)

    def restart(self) -> None:
        """The text so far is void: what is not sent yet is dropped, and seq starts at 1 again."""
        self._queue.put_nowait(_RESTART)

    async def run(self) -> None:
        """Send until ``close()``; returns once everything queued before it was sent."""
        while True:
            parts = [await self._queue.get()]
            while not self._queue.empty():
                parts.append(self._queue.get_nowait())
            if _RESTART in parts:
                parts = parts[len(parts) - parts[::-1].index(_RESTART):]  # after the last restart
                self.seq = 0
            text = "".join(p for p in parts if isinstance(p, str))
            for i in range(0, len(text), MAX_DELTA_CHARS):
                await self._send(text[i:i + MAX_DELTA_CHARS])
            if None in parts:
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
