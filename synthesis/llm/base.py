"""The one LLM interface every adapter and wrapper implements.

`complete(messages, *, model, json_schema=None, max_tokens, temperature) -> Completion`, plus
an optional stream: ``stream(llm, messages, on_delta=...)`` asks an adapter that can stream
(all of them do: openai, anthropic, local, scripted) to send its chunks as it produces them.
Retry, timeout, concurrency limits and token accounting are wrappers implementing the same
protocol (see `wrappers.py`). Prompt building lives in `synthesis/compile.py`, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens of one call. `cached_tokens` is the part of `prompt_tokens` the provider served
    from its prompt cache (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic
    `cache_read_input_tokens`); 0 when the provider does not say."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens,
                     self.cached_tokens + other.cached_tokens)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """One reply. `truncated` is True when the provider stopped at the length limit
    (`finish_reason == "length"`, `stop_reason == "max_tokens"`): the text is then incomplete
    and callers treat it as invalid output, never as an answer."""

    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    provider: str = ""
    truncated: bool = False


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


# --- the optional stream ------------------------------------------------------------------------

Delta = Callable[[str], None]
Restart = Callable[[], None]


@dataclass
class _Stream:
    """One ``stream()`` call: where its chunks go, and which attempt they belong to."""

    on_delta: Delta
    on_restart: Restart | None
    attempted: bool = False  # an adapter asked for the sink: it streams
    sent: bool = False  # a chunk went out since the last (re)start
    restarting: bool = False  # a new attempt began after chunks went out

    def attempt(self) -> Delta:
        self.attempted = True
        self.restarting = self.restarting or self.sent
        return self.chunk

    def chunk(self, text: str) -> None:
        if not text:
            return
        if self.restarting:
            self.restarting = self.sent = False
            if self.on_restart is not None:
                self.on_restart()
        self.sent = True
        self.on_delta(text)


# The current ``stream()``. Set only by ``stream()`` for the duration of one call, so the
# wrappers (retry, timeout, limit, accounting) stream unchanged: they call ``complete()`` in the
# caller's context.
DELTA_SINK: ContextVar[_Stream | None] = ContextVar("medium_llm_delta_sink", default=None)


def delta_sink() -> Delta | None:
    """For adapters: the sink for the chunks of the attempt about to start, None when nobody
    streams. Call it once at the start of each attempt (each HTTP request, each scripted reply):
    a later call within the same ``stream()`` marks a retry, which streams again from its
    start, and the consumer's ``on_restart`` runs before that attempt's first chunk."""
    current = DELTA_SINK.get()
    return current.attempt() if current is not None else None


async def stream(llm: LLM, messages: Sequence[Message], *, on_delta: Delta, model: str,
                 json_schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                 temperature: float = 0.8, on_restart: Restart | None = None) -> Completion:
    """``complete()``, with ``on_delta`` called for each chunk as it is produced (the openai,
    anthropic, local and scripted adapters stream). An adapter that cannot stream yields one
    chunk, the whole text, at the end. The joined chunks equal the completion's text for one
    attempt; a retried call (``RetryLLM``) streams again from its start, after ``on_restart``
    (when given), so a consumer drops what it had and treats the returned Completion as
    authoritative."""
    current = _Stream(on_delta, on_restart)
    token = DELTA_SINK.set(current)
    try:
        done = await llm.complete(messages, model=model, json_schema=json_schema,
                                  max_tokens=max_tokens, temperature=temperature)
    finally:
        DELTA_SINK.reset(token)
    if not current.attempted:
        current.chunk(done.text)
    return done
