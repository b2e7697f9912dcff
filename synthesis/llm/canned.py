"""The canned narrator (`--narrator canned`, `MEDIUM_LLM=canned`): a zero-cost stand-in for the
model, so a benchmark counts only the product's own cost (gather, compile, parse, route, the
database). Never a narrator for play: it is labelled as canned wherever it shows.

Its answer for a window is precomputed: one valid text-layout reply per acting character,
built once from a template and kept, keyed by the character's handle. Finding the handle is
one regular-expression search of the prompt's ``YOU [handle]`` line; nothing else of the
prompt is read. Soft analysis and NPC actor prompts, which a benchmark of syntheses never
sends, go to the scripted narrator, so a process run on it still works end to end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from synthesis.llm.base import Completion, Message, Usage, delta_sink
from synthesis.llm.scripted import ScriptedLLM

PROVIDER = "canned"
LABEL = "canned narrator (benchmark only)"
_ME = re.compile(r"^YOU \[(?P<h>[a-z0-9_]+)\]", re.MULTILINE)
_REPLY = ("OUTCOME\nactions_resolved:\n- {h} | carries on with the plan | success\nworld_facts:\n"
          "interrupts:\ninvolved:\nNARRATIVE\nYou carry on with the plan, and it goes the way you "
          "meant it to. The room hums around you; nobody stops you.")


@dataclass
class CannedLLM:
    """Answers a Medium prompt with its character's precomputed reply (see the module doc)."""

    provider: str = PROVIDER
    calls: int = 0
    _replies: dict[str, str] = field(default_factory=dict)
    _other: ScriptedLLM = field(default_factory=ScriptedLLM)

    async def complete(self, messages: Sequence[Message], *, model: str,
                       json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                       temperature: float = 0.8) -> Completion:
        self.calls += 1
        system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
        if "SOFT ANALYSIS" in system or "NPC ACTOR" in system:
            return await self._other.complete(messages, model=model, json_schema=json_schema,
                                              max_tokens=max_tokens, temperature=temperature)
        found = _ME.search(messages[-1]["content"])
        handle = found.group("h") if found else "unknown"
        text = self._replies.get(handle)
        if text is None:
            text = self._replies[handle] = _REPLY.format(h=handle)
        sink = delta_sink()
        if sink is not None:
            sink(text)
        return Completion(text=text, usage=Usage(prompt_tokens=0, completion_tokens=0), model=model,
                          provider=self.provider)
