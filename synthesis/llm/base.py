"""The one LLM interface every adapter and wrapper implements.

`complete(messages, *, model, json_schema=None, max_tokens, temperature) -> Completion`.
Retry, timeout, concurrency limits and token accounting are wrappers implementing the same
protocol (see `wrappers.py`). Prompt building lives in `synthesis/compile.py`, never here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    provider: str = ""


@runtime_checkable
class LLM(Protocol):
    """A chat-completion model. `provider` labels where output came from (e.g. "scripted")."""

    provider: str

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,
    ) -> Completion: ...
