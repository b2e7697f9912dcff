"""The live narrative: from a Medium reply's raw chunks to ``narrative_delta`` texts.

Only the NARRATIVE block is ever forwarded, and only to its owner (and the GM): the OUTCOME
part of the same reply is shared and must first be parsed and guarded, exactly once, as
before. ``NarrativeTap`` reads the text layout (``OUTCOME`` … ``NARRATIVE`` …), so the first
narrative word reaches the player as soon as the model writes it, not after the whole reply;
a closing code fence ends the block, as in ``parse``. The streamed text is a preview: the final
``narrative`` message, after parsing and any repair, is authoritative.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
