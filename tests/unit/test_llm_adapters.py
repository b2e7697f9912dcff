"""The SDK adapters against a scripted local server: real SDK, real HTTP, no mocks.

Every test that exercises both adapters runs once per provider via the `harness` fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai
import pytest
from llm_server import (
    LLMServer,
    Reply,
    anthropic_error,
    anthropic_message,
    openai_chat,
    openai_error,
    openai_models,
)

from synthesis.errors import InvalidInput, LLMError, LLMTimeout, LLMTransientError
from synthesis.llm.anthropic_adapter import JSON_INSTRUCTION, AnthropicAdapter
from synthesis.llm.base import LLM, Message
from synthesis.llm.factory import build_provider, parse_model_spec
from synthesis.llm.openai_adapter import OpenAIAdapter, list_models
from synthesis.llm.wrappers import RetryLLM, wrap
from synthesis.settings import Settings

ANTHROPIC_MODEL = "claude-haiku-4-5"  # not in the SDK's DEPRECATED_MODELS (which warns)
OPENAI_MODEL = "gpt-test"
MESSAGES: list[Message] = [
    {"role": "system", "content": "You narrate."},
    {"role": "user", "content": "I open the door."},
]


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as running:
        yield running


@dataclass
class Harness:
    """One provider's view of the test server: scripted replies and adapters to test."""

    name: str
    server: LLMServer
    model: str
    path: str
    _made: list[OpenAIAdapter | AnthropicAdapter] = field(default_factory=list)

    def adapter(self, *, timeout: float = 5.0, max_retries: int = 0) -> LLM:
        made: OpenAIAdapter | AnthropicAdapter
        if self.name == "openai":
            made = OpenAIAdapter(
                openai.AsyncOpenAI(
                    base_url=self.server.openai_base_url,
                    api_key="sk-test",
                    timeout=timeout,
                    max_retries=max_retries,
                )
            )
        else:
            made = AnthropicAdapter(
                anthropic.AsyncAnthropic(
                    base_url=self.server.anthropic_base_url,
                    api_key="sk-ant-test",
                    timeout=timeout,
                    max_retries=max_retries,
                )
            )
        self._made.append(made)
        return made

    def ok(self, text: str, *, prompt_tokens: int, completion_tokens: int) -> Reply:
        if self.name == "openai":
            body = openai_chat(
                text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
        else:
            body = anthropic_message(
                text, input_tokens=prompt_tokens, output_tokens=completion_tokens
            )
        return Reply(body=body)

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        body = openai_error(message) if self.name == "openai" else anthropic_error(message)
        return Reply(status, body, headers=headers or {})

    async def close(self) -> None:
        for adapter in self._made:
            await adapter.aclose()


@pytest.fixture(params=["openai", "anthropic"])
async def harness(request: pytest.FixtureRequest, server: LLMServer) -> AsyncIterator[Harness]:
    if request.param == "openai":
        made = Harness("openai", server, OPENAI_MODEL, "/v1/chat/completions")
    else:
        made = Harness("anthropic", server, ANTHROPIC_MODEL, "/v1/messages")
    yield made
    await made.close()


class SleepRecorder:
    """A tenacity `sleep` that records the requested waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# both adapters ---------------------------------------------------------------------------------


async def test_success_returns_text_usage_and_labels(harness: Harness) -> None:
    harness.server.enqueue(harness.ok("The door creaks.", prompt_tokens=21, completion_tokens=4))
    llm = harness.adapter()

    out = await llm.complete(MESSAGES, model=harness.model, max_tokens=64)

    assert out.text == "The door creaks."
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (21, 4)
    assert out.provider == harness.name == llm.provider
    assert out.model  # echoed by the server
    [request] = harness.server.requests
    assert (request.method, request.path) == ("POST", harness.path)
    assert request.json["model"] == harness.model


async def test_429_then_success_is_retried(harness: Harness) -> None:
    harness.server.enqueue(
        harness.error(429, "slow down"),
        harness.ok("ok", prompt_tokens=1, completion_tokens=1),
    )
    sleep = SleepRecorder()
    llm = RetryLLM(harness.adapter(), attempts=4, sleep=sleep)

    out = await llm.complete(MESSAGES, model=harness.model)

    assert out.text == "ok"
    assert len(harness.server.requests) == 2
    assert len(sleep.waits) == 1
    assert llm.retries == 1


async def test_retry_after_header_sets_the_minimum_wait(harness: Harness) -> None:
    harness.server.enqueue(
        harness.error(429, "slow down", headers={"retry-after": "3"}),
        harness.ok("ok", prompt_tokens=1, completion_tokens=1),
    )
    sleep = SleepRecorder()
    llm = RetryLLM(harness.adapter(), initial=0.01, max_wait=8.0, sleep=sleep)

    await llm.complete(MESSAGES, model=harness.model)

    assert sleep.waits == [3.0]


@pytest.mark.parametrize("status", [500, 503, 529])
async def test_5xx_is_transient(harness: Harness, status: int) -> None:
    harness.server.enqueue(harness.error(status, "upstream broke"))

    with pytest.raises(LLMTransientError) as caught:
        await harness.adapter().complete(MESSAGES, model=harness.model)

    assert not isinstance(caught.value, LLMTimeout)
    assert caught.value.details["status"] == status
    assert len(harness.server.requests) == 1


async def test_client_timeout_is_llm_timeout(harness: Harness) -> None:
    harness.server.enqueue(Reply(delay=5.0, body={}))

    with pytest.raises(LLMTimeout):
        await harness.adapter(timeout=0.3).complete(MESSAGES, model=harness.model)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body="{not json"),
        Reply(body={"unexpected": "shape"}),
        Reply(body="<html>gateway</html>", content_type="text/html"),
    ],
    ids=["invalid-json", "wrong-shape", "not-json-content-type"],
)
async def test_malformed_body_is_transient(harness: Harness, reply: Reply) -> None:
    harness.server.enqueue(reply)

    with pytest.raises(LLMTransientError, match="malformed"):
        await harness.adapter().complete(MESSAGES, model=harness.model)


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_4xx_is_not_retried(harness: Harness, status: int) -> None:
    harness.server.enqueue(
        harness.error(status, "you did it wrong"),
        harness.ok("never reached", prompt_tokens=1, completion_tokens=1),
    )
    sleep = SleepRecorder()

    with pytest.raises(LLMError) as caught:
        await RetryLLM(harness.adapter(), sleep=sleep).complete(MESSAGES, model=harness.model)

    assert not isinstance(caught.value, LLMTransientError)
    assert caught.value.details["status"] == status
    assert len(harness.server.requests) == 1
    assert sleep.waits == []


async def test_adapter_disables_sdk_retries(harness: Harness) -> None:
    # A client built with the SDK default (retries on) must still make one attempt per call,
    # or our RetryLLM would multiply with the SDK's own retries.
    harness.server.enqueue(
        harness.error(500, "boom"), harness.ok("sdk retried", prompt_tokens=1, completion_tokens=1)
    )

    with pytest.raises(LLMTransientError):
        await harness.adapter(max_retries=2).complete(MESSAGES, model=harness.model)

    assert len(harness.server.requests) == 1


async def test_wrapped_adapter_end_to_end(harness: Harness) -> None:
    harness.server.enqueue(
        harness.error(503, "busy"), harness.ok("fine", prompt_tokens=5, completion_tokens=3)
    )
    llm = wrap(harness.adapter(), timeout=5.0, concurrency=2, sleep=SleepRecorder())

    out = await llm.complete(MESSAGES, model=harness.model)

    assert out.text == "fine"
    snap = llm.snapshot()
    assert (snap["provider"], snap["calls"], snap["errors"]) == (harness.name, 1, 0)
    assert (snap["prompt_tokens"], snap["completion_tokens"]) == (5, 3)
    assert len(harness.server.requests) == 2


# openai specifics -----------------------------------------------------------------------------


@pytest.fixture
async def openai_client(server: LLMServer) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key="sk-test", timeout=5.0, max_retries=0
    )
    yield client
    await client.close()


async def test_openai_request_shape_with_json_schema(
    server: LLMServer, openai_client: openai.AsyncOpenAI
) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    server.enqueue(Reply(body=openai_chat('{"ok": true}')))

    out = await OpenAIAdapter(openai_client).complete(
        MESSAGES, model="gpt-test", json_schema=schema, max_tokens=77, temperature=0.3
    )

    assert out.text == '{"ok": true}'
    body = server.requests[0].json
    strict = {**schema, "additionalProperties": False, "required": ["ok"]}
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": strict, "strict": True},
    }
    assert body["messages"] == [
        {"role": "system", "content": "You narrate."},
        {"role": "user", "content": "I open the door."},
    ]
    assert body["max_completion_tokens"] == 77
    assert "max_tokens" not in body
    assert body["temperature"] == 0.3


async def test_openai_without_schema_sends_no_response_format(
    server: LLMServer, openai_client: openai.AsyncOpenAI
) -> None:
    server.enqueue(Reply(body=openai_chat("prose")))

    await OpenAIAdapter(openai_client, max_tokens_param="max_tokens").complete(
        MESSAGES, model="gpt-test", max_tokens=9
    )

    body = server.requests[0].json
    assert "response_format" not in body
    assert body["max_tokens"] == 9
    assert "max_completion_tokens" not in body


async def test_openai_refusal_is_not_retryable(
    server: LLMServer, openai_client: openai.AsyncOpenAI
) -> None:
    body = openai_chat(None)
    body["choices"][0]["message"]["refusal"] = "I can't help with that."
    server.enqueue(Reply(body=body))

    with pytest.raises(LLMError, match="refused") as caught:
        await OpenAIAdapter(openai_client).complete(MESSAGES, model="gpt-test")
    assert not isinstance(caught.value, LLMTransientError)


async def test_openai_provider_label(server: LLMServer, openai_client: openai.AsyncOpenAI) -> None:
    server.enqueue(Reply(body=openai_chat("hi")))

    out = await OpenAIAdapter(openai_client, provider="ollama").complete(MESSAGES, model="m")

    assert out.provider == "ollama"


async def test_list_models(server: LLMServer, openai_client: openai.AsyncOpenAI) -> None:
    server.enqueue(Reply(body=openai_models("llama3.1:8b", "gpt-4o-mini", "llama3.1:8b")))

    assert await list_models(openai_client) == ["gpt-4o-mini", "llama3.1:8b"]
    [request] = server.requests
    assert (request.method, request.path) == ("GET", "/v1/models")


async def test_list_models_errors_are_translated(
    server: LLMServer, openai_client: openai.AsyncOpenAI
) -> None:
    server.enqueue(Reply(502, openai_error("bad gateway")), Reply(401, openai_error("no key")))

    with pytest.raises(LLMTransientError):
        await list_models(openai_client)
    with pytest.raises(LLMError) as caught:
        await list_models(openai_client)
    assert not isinstance(caught.value, LLMTransientError)


# anthropic specifics --------------------------------------------------------------------------


@pytest.fixture
async def anthropic_client(server: LLMServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="sk-ant-test", timeout=5.0, max_retries=0
    )
    yield client
    await client.close()


async def test_anthropic_system_messages_go_to_system_param(
    server: LLMServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    server.enqueue(Reply(body=anthropic_message("ok")))
    messages: list[Message] = [
        {"role": "system", "content": "You narrate."},
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hi."},
        {"role": "system", "content": "Stay in character."},
        {"role": "user", "content": "Open the door."},
    ]

    await AnthropicAdapter(anthropic_client).complete(
        messages, model=ANTHROPIC_MODEL, max_tokens=50
    )

    body = server.requests[0].json
    assert body["system"] == "You narrate.\n\nStay in character."
    assert body["messages"] == [
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "Open the door."},
    ]
    assert body["max_tokens"] == 50
    assert "temperature" not in body  # anthropic 2.x messages.create has no temperature


async def test_anthropic_json_schema_is_an_instruction_when_not_native(
    server: LLMServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"mood": {"type": "string"}}}
    server.enqueue(Reply(body=anthropic_message('{"mood": "wary"}')))

    out = await AnthropicAdapter(anthropic_client, native_json=False).complete(
        MESSAGES, model=ANTHROPIC_MODEL, json_schema=schema
    )

    assert out.text == '{"mood": "wary"}'
    assert "output_config" not in server.requests[0].json
    system = server.requests[0].json["system"]
    assert system.startswith("You narrate.\n\n" + JSON_INSTRUCTION)
    assert '"mood"' in system
    assert '"properties"' in system
    assert all(m["role"] != "system" for m in server.requests[0].json["messages"])


async def test_anthropic_without_system_sends_no_system(
    server: LLMServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    server.enqueue(Reply(body=anthropic_message("ok")))

    await AnthropicAdapter(anthropic_client).complete(
        [{"role": "user", "content": "hi"}], model=ANTHROPIC_MODEL
    )

    assert "system" not in server.requests[0].json


async def test_anthropic_joins_text_blocks_and_refusal_is_an_error(
    server: LLMServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    two_blocks = anthropic_message("first ")
    two_blocks["content"].append({"type": "text", "text": "second"})
    server.enqueue(Reply(body=two_blocks), Reply(body=anthropic_message("", stop_reason="refusal")))
    adapter = AnthropicAdapter(anthropic_client)

    assert (await adapter.complete(MESSAGES, model=ANTHROPIC_MODEL)).text == "first second"
    with pytest.raises(LLMError, match="refused") as caught:
        await adapter.complete(MESSAGES, model=ANTHROPIC_MODEL)
    assert not isinstance(caught.value, LLMTransientError)


# factory ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("anthropic:claude-3-5-haiku-latest", ("anthropic", "claude-3-5-haiku-latest")),
        ("scripted", ("scripted", "scripted")),
        ("openai:llama3.1:8b", ("openai", "llama3.1:8b")),
        ("  OpenAI:gpt-4o  ", ("openai", "gpt-4o")),
    ],
)
def test_parse_model_spec(spec: str, expected: tuple[str, str]) -> None:
    assert parse_model_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("openai", "names no model"),
        ("openai:", "names no model"),
        ("gemini:pro", "unknown LLM provider 'gemini'"),
        ("gpt-4o", "unknown LLM provider 'gpt-4o'"),
    ],
)
def test_parse_model_spec_rejects(spec: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        parse_model_spec(spec)


def _settings(**values: Any) -> Settings:
    # Pass every LLM field so the test does not depend on the developer's environment.
    base: dict[str, Any] = {
        "openai_api_key": None,
        "openai_base_url": None,
        "anthropic_api_key": None,
        "anthropic_base_url": None,
        "medium_llm_timeout": 5.0,
    }
    return Settings(**{**base, **values})


async def _close(llm: LLM) -> None:
    close: Callable[[], Any] | None = getattr(llm, "aclose", None)
    assert close is not None
    await close()


async def test_build_openai_for_a_keyless_compatible_server(server: LLMServer) -> None:
    llm = build_provider("openai", _settings(openai_base_url=server.openai_base_url))
    server.enqueue(Reply(body=openai_chat("local")))
    try:
        out = await llm.complete(MESSAGES, model="llama3.1:8b", max_tokens=12)
    finally:
        await _close(llm)

    assert (out.text, out.provider) == ("local", "openai")
    request = server.requests[0]
    assert request.headers["authorization"] == "Bearer not-needed"
    assert request.json["max_tokens"] == 12  # compatible servers read max_tokens


async def test_build_anthropic_uses_the_configured_key(server: LLMServer) -> None:
    llm = build_provider(
        "anthropic",
        _settings(anthropic_api_key="sk-ant-real", anthropic_base_url=server.anthropic_base_url),
    )
    server.enqueue(Reply(body=anthropic_message("claude")))
    try:
        out = await llm.complete(MESSAGES, model=ANTHROPIC_MODEL)
    finally:
        await _close(llm)

    assert (out.text, out.provider) == ("claude", "anthropic")
    # anthropic 2.x sends the API key as a bearer token, not x-api-key.
    assert "sk-ant-real" in server.requests[0].headers["authorization"]


@pytest.mark.parametrize(
    ("provider", "env"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_build_provider_requires_a_key(provider: str, env: str) -> None:
    with pytest.raises(InvalidInput, match=env):
        build_provider(provider, _settings())


@pytest.mark.parametrize("provider", ["scripted", "gemini"])
def test_build_provider_rejects_non_sdk_providers(provider: str) -> None:
    with pytest.raises(InvalidInput, match=provider):
        build_provider(provider, _settings())
