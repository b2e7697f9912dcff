"""Every adapter streams, on the wire: the real openai and anthropic SDKs against a local server
on a real socket speaking each provider's Server-Sent Events. The deltas arrive in order and
join to the final text; usage, truncation and mid-stream failures come out as from the
unstreamed call (and through the retry wrapper, a retried call streams again from its start).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from llm_server import (
    LLMServer,
    Reply,
    anthropic_error,
    anthropic_message,
    anthropic_stream,
    openai_chat,
    openai_error,
    openai_stream,
    sse,
)

from synthesis import compile as compile_
from synthesis import medium
from synthesis.errors import LLMError, LLMTimeout, LLMTransientError
from synthesis.llm import wrappers
from synthesis.llm.anthropic_adapter import AnthropicAdapter
from synthesis.llm.base import LLM, Completion, Message, stream
from synthesis.llm.openai_adapter import OpenAIAdapter
from synthesis.types import MediumInput

RECORDING = json.loads((Path(__file__).parent / "recordings" / "qwen15b_new_prompt_0.json").read_text())
REPLY: str = RECORDING["response"]["choices"][0]["message"]["content"]  # Qwen2.5-Coder-1.5B, JSON
INPUT = MediumInput.model_validate(RECORDING["input"])
MESSAGES: list[Message] = [{"role": "system", "content": "You narrate."}, {"role": "user", "content": "Go."}]
TEXT = ["You ", "step ", "in", "side.\n", "The door ", "\"shuts\"."]


def pieces(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as running:
        yield running


def openai_llm(server: LLMServer, **kw: Any) -> OpenAIAdapter:
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", timeout=5, max_retries=0)
    return OpenAIAdapter(client, **kw)


def anthropic_llm(server: LLMServer, *, read: float = 5) -> AnthropicAdapter:
    client = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="sk-ant-test",
                                      timeout=anthropic.Timeout(5, read=read), max_retries=0)
    return AnthropicAdapter(client)


async def streamed(llm: LLM, *, schema: dict[str, Any] | None = None, model: str = "m"
                   ) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    try:
        done = await stream(llm, MESSAGES, on_delta=deltas.append, model=model, json_schema=schema)
    finally:
        close = getattr(llm, "aclose", None)
        if close is not None:
            await close()
    return deltas, done


# --- OpenAI ------------------------------------------------------------------------------------

async def test_openai_streams_text_and_counts_the_usage_chunk(server: LLMServer) -> None:
    server.enqueue(Reply(events=openai_stream(TEXT, usage=(120, 9, 64)), event_delay=0.01))
    deltas, done = await streamed(openai_llm(server), model="gpt-4o-mini")
    assert deltas == TEXT
    assert "".join(deltas) == done.text
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.cached_tokens) == (120, 9, 64)
    assert not done.truncated
    assert done.model == "gpt-test"
    assert done.provider == "openai"
    body = server.requests[0].json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "response_format" not in body


async def test_openai_streams_json_mode_in_the_strict_json_schema_form(server: LLMServer) -> None:
    server.enqueue(Reply(events=openai_stream(pieces(REPLY))))
    deltas, done = await streamed(openai_llm(server), schema=compile_.output_schema(INPUT))
    assert "".join(deltas) == done.text == REPLY
    assert len(deltas) > 20
    body = server.requests[0].json
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"]
    assert body["stream"] is True
    out = medium.parse.parse_output(medium._reply(done), INPUT, json_mode=True)
    assert out.narrative == json.loads(REPLY)["narrative"]


async def test_a_stream_cut_at_the_length_limit_is_truncated(server: LLMServer) -> None:
    server.enqueue(Reply(events=openai_stream(["You st"], finish_reason="length")))
    _, done = await streamed(openai_llm(server))
    assert done.truncated
    assert done.text == "You st"
    with pytest.raises(medium.ParseError, match="cut off"):
        medium._reply(done)


async def test_a_truncated_json_stream_goes_to_the_repair_call(server: LLMServer) -> None:
    """finish_reason "length" marks the streamed reply truncated, like the unstreamed one, so
    the Medium treats it as invalid output: the repair call (not streamed) answers."""
    cut = REPLY[: len(REPLY) // 2]
    server.enqueue(Reply(events=openai_stream(pieces(cut), finish_reason="length")),
                   Reply(body=openai_chat(REPLY)))
    llm = openai_llm(server)
    deltas: list[str] = []
    try:
        out, repaired, usage = await medium.complete_and_parse(
            llm, "gpt-4o-mini", list(MESSAGES), INPUT, json_mode=True, on_narrative=deltas.append)
    finally:
        await llm.aclose()
    assert deltas
    assert repaired
    assert out.narrative == json.loads(REPLY)["narrative"]
    assert usage.prompt_tokens == 11 + 11
    repair = server.requests[1].json
    assert "stream" not in repair
    assert "cut off at the length limit" in repair["messages"][-1]["content"]
    assert json.loads(REPLY)["narrative"].startswith("".join(deltas))  # the preview was the cut reply's



async def test_llamacpp_form_streams_without_a_usage_chunk(server: LLMServer) -> None:
    """llama-cpp-python 0.3.36 ignores stream_options (its request model drops unknown fields)
    and sends no usage chunk: one completion token per content chunk, as it sends them."""
    server.enqueue(Reply(events=openai_stream(pieces(REPLY, 3), usage=None)))
    llm = openai_llm(server, max_tokens_param="max_tokens", structured="json_object")
    deltas, done = await streamed(llm, schema=compile_.output_schema(INPUT), model="narrator")
    assert "".join(deltas) == done.text == REPLY
    assert done.usage.completion_tokens == len(deltas)
    assert done.usage.prompt_tokens == 0
    body = server.requests[0].json
    assert body["response_format"]["type"] == "json_object"
    assert "schema" in body["response_format"]
    assert body["stream"] is True
    assert "max_tokens" in body


async def test_a_server_refusing_stream_options_is_asked_without_them(server: LLMServer) -> None:
    server.enqueue(Reply(400, openai_error("Unrecognized request argument: stream_options")),
                   Reply(events=openai_stream(TEXT, usage=None)), Reply(events=openai_stream(TEXT, usage=None)))
    llm = openai_llm(server)
    try:
        for _ in range(2):
            deltas: list[str] = []
            done = await stream(llm, MESSAGES, on_delta=deltas.append, model="m")
            assert "".join(deltas) == done.text
    finally:
        await llm.aclose()
    assert ["stream_options" in r.json for r in server.requests] == [True, False, False]


@pytest.mark.parametrize("case", ["error chunk", "cut connection", "no finish_reason"])
async def test_openai_mid_stream_failures_are_transient(server: LLMServer, case: str) -> None:
    events = openai_stream(TEXT)
    reply = {
        "error chunk": Reply(events=(*events[:3], sse({"error": {"message": "overloaded", "type": "server_error"}}))),
        "cut connection": Reply(events=events, cut_after=3),
        "no finish_reason": Reply(events=openai_stream(TEXT, finish_reason=None, usage=None, done=False)),
    }[case]
    server.enqueue(reply)
    with pytest.raises(LLMTransientError):
        await streamed(openai_llm(server))


async def test_a_retried_stream_starts_over_after_on_restart(server: LLMServer) -> None:
    """Through RetryLLM: the first attempt streams two chunks and breaks, the second streams
    in full; the consumer hears `on_restart` before the second attempt's first chunk."""
    events = openai_stream(TEXT)
    server.enqueue(Reply(events=events, cut_after=3), Reply(events=events))
    llm = wrappers.RetryLLM(openai_llm(server), attempts=2, sleep=_no_sleep)
    heard: list[str | None] = []
    try:
        done = await stream(llm, MESSAGES, on_delta=heard.append, model="m", on_restart=lambda: heard.append(None))
    finally:
        await llm.aclose()
    assert heard == [*TEXT[:2], None, *TEXT]
    assert done.text == "".join(TEXT)
    assert llm.retries == 1


async def test_a_retried_json_reply_gets_a_fresh_narrative_tap(server: LLMServer) -> None:
    events = openai_stream(pieces(REPLY))
    server.enqueue(Reply(events=events, cut_after=len(events) - 20), Reply(events=events))
    llm = wrappers.RetryLLM(openai_llm(server), attempts=2, sleep=_no_sleep)
    heard: list[str | None] = []
    try:
        out, repaired, _ = await medium.complete_and_parse(
            llm, "gpt-4o-mini", list(MESSAGES), INPUT, json_mode=True, on_narrative=heard.append,
            on_restart=lambda: heard.append(None))
    finally:
        await llm.aclose()
    assert heard.count(None) == 1
    assert not repaired
    cut = heard.index(None)
    before, again = [t for t in heard[:cut] if t], [t for t in heard[cut + 1:] if t]
    assert before
    assert out.narrative.startswith("".join(before))
    assert "".join(again) == out.narrative == json.loads(REPLY)["narrative"]


async def _no_sleep(seconds: float) -> None:
    return None


async def test_a_refusal_in_the_stream_is_not_retryable(server: LLMServer) -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-test",
             "choices": [{"index": 0, "delta": {"refusal": "I can't help with that."}, "finish_reason": "stop"}]}
    server.enqueue(Reply(events=(sse(chunk), sse("[DONE]"))))
    with pytest.raises(LLMError, match="refused") as caught:
        await streamed(openai_llm(server))
    assert not isinstance(caught.value, LLMTransientError)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_server_that_does_not_stream_yields_one_chunk(server: LLMServer, provider: str) -> None:
    """A compatible server may answer a streamed request with one JSON body: read as the
    unstreamed call, its whole text one chunk (as base.stream promises of such an adapter)."""
    if provider == "openai":
        server.enqueue(Reply(body=openai_chat("You wait.", prompt_tokens=30, completion_tokens=3)))
        deltas, done = await streamed(openai_llm(server))
    else:
        server.enqueue(Reply(body=anthropic_message("You wait.", input_tokens=30, output_tokens=3)))
        deltas, done = await streamed(anthropic_llm(server), model="claude-haiku-4-5")
    assert deltas == ["You wait."] == [done.text]
    assert server.requests[0].json["stream"] is True
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (30, 3)


# --- Anthropic ---------------------------------------------------------------------------------

async def test_anthropic_streams_text_with_usage_and_stop_reason(server: LLMServer) -> None:
    server.enqueue(Reply(events=anthropic_stream(TEXT, input_tokens=40, output_tokens=12, cache_read=900),
                         event_delay=0.01))
    deltas, done = await streamed(anthropic_llm(server), model="claude-haiku-4-5")
    assert deltas == TEXT
    assert "".join(deltas) == done.text
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.cached_tokens) == (940, 12, 900)
    assert not done.truncated
    assert done.model == "claude-test"
    assert done.provider == "anthropic"
    assert server.requests[0].json["stream"] is True
    assert len(server.sent_at) == len(anthropic_stream(TEXT))


async def test_anthropic_streams_native_structured_output(server: LLMServer) -> None:
    server.enqueue(Reply(events=anthropic_stream(pieces(REPLY))))
    deltas, done = await streamed(anthropic_llm(server), schema=compile_.output_schema(INPUT),
                                  model="claude-haiku-4-5")
    assert "".join(deltas) == done.text == REPLY
    body = server.requests[0].json
    assert body["stream"] is True
    assert body["output_config"]["format"]["type"] == "json_schema"


async def test_anthropic_max_tokens_is_truncated(server: LLMServer) -> None:
    server.enqueue(Reply(events=anthropic_stream(["You st"], stop_reason="max_tokens")))
    deltas, done = await streamed(anthropic_llm(server), model="claude-haiku-4-5")
    assert done.truncated
    assert deltas == ["You st"]
    with pytest.raises(medium.ParseError, match="cut off"):
        medium._reply(done)


@pytest.mark.parametrize("case", ["overloaded event", "cut connection", "read timeout", "no message_stop"])
async def test_anthropic_mid_stream_failures_are_transient(server: LLMServer, case: str) -> None:
    events = anthropic_stream(TEXT)
    overloaded = sse(anthropic_error("Overloaded", type_="overloaded_error"), event="error")
    reply = {
        "overloaded event": Reply(events=(*events[:4], overloaded)),
        "cut connection": Reply(events=events, cut_after=4),
        "read timeout": Reply(events=events, event_delay=2),
        "no message_stop": Reply(events=events[:-1]),
    }[case]
    server.enqueue(reply)
    with pytest.raises(LLMTransientError) as caught:
        await streamed(anthropic_llm(server, read=0.5), model="claude-haiku-4-5")
    assert isinstance(caught.value, LLMTimeout) == (case == "read timeout")
    if case == "overloaded event":
        assert re.search("stream failed: Overloaded", caught.value.message)


async def test_anthropic_stream_refusal(server: LLMServer) -> None:
    server.enqueue(Reply(events=anthropic_stream([], stop_reason="refusal")))
    with pytest.raises(LLMError, match="refused") as caught:
        await streamed(anthropic_llm(server), model="claude-haiku-4-5")
    assert not isinstance(caught.value, LLMTransientError)
