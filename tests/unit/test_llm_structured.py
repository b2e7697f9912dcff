"""Structured output per provider, on the wire: the real SDKs against a local server on a real
socket, answering with recorded responses (tests/unit/recordings/, from llama-cpp-python
0.3.36 serving Qwen2.5-Coder-1.5B) or the provider's documented shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from llm_server import LLMServer, Reply, anthropic_error, anthropic_message, openai_chat

from synthesis import compile as compile_
from synthesis import medium
from synthesis.errors import LLMTransientError, ParseError
from synthesis.llm import schema as schemas
from synthesis.llm.anthropic_adapter import JSON_INSTRUCTION, AnthropicAdapter
from synthesis.llm.base import Message
from synthesis.llm.openai_adapter import OpenAIAdapter
from synthesis.types import MediumInput

RECORDINGS = Path(__file__).parent / "recordings"
MESSAGES: list[Message] = [{"role": "system", "content": "You narrate."}, {"role": "user", "content": "Go."}]


def recorded(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((RECORDINGS / name).read_text())
    return doc


def recorded_input() -> MediumInput:
    return MediumInput.model_validate(recorded("qwen15b_new_prompt_0.json")["input"])


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as running:
        yield running


def _openai(server: LLMServer, **kw: Any) -> OpenAIAdapter:
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", timeout=5, max_retries=0)
    return OpenAIAdapter(client, **kw)


def _strings(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    schemas._walk(schema, lambda n: found.append(n) if n.get("type") == "string" and "enum" not in n else None)
    return found


# --- OpenAI proper: json_schema, strict ---------------------------------------------------------

async def test_openai_gets_strict_json_schema_and_room_for_every_bounded_field(server: LLMServer) -> None:
    schema = compile_.output_schema(recorded_input())
    server.enqueue(Reply(body=openai_chat("{}")))
    llm = _openai(server)
    try:
        await llm.complete(MESSAGES, model="gpt-4o-mini", json_schema=schema, max_tokens=100)
    finally:
        await llm.aclose()
    body = server.requests[0].json
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    sent = fmt["json_schema"]["schema"]
    outcome = sent["properties"]["outcome"]
    assert outcome["additionalProperties"] is False
    assert sorted(outcome["required"]) == sorted(outcome["properties"])  # strict: every key required
    assert all("maxLength" not in s for s in _strings(sent))  # outside strict mode's subset
    assert body["max_completion_tokens"] >= schemas.token_bound(schema) > 100


# --- llama.cpp: json_object + schema ------------------------------------------------------------

async def test_llamacpp_refuses_json_schema_and_the_adapter_falls_back(server: LLMServer) -> None:
    """Recorded: llama-cpp-python answers the json_schema form with HTTP 500."""
    refused = recorded("llamacpp_json_schema_form.json")
    ok = recorded("qwen15b_new_prompt_0.json")
    server.enqueue(Reply(refused["status"], refused["response"]), Reply(body=ok["response"]),
                   Reply(body=ok["response"]))
    llm = _openai(server, max_tokens_param="max_tokens", fallback_forms=("json_object",))
    schema = compile_.output_schema(recorded_input())
    try:
        first = await llm.complete(MESSAGES, model="narrator", json_schema=schema)
        await llm.complete(MESSAGES, model="narrator", json_schema=schema)
    finally:
        await llm.aclose()
    forms = [r.json["response_format"]["type"] for r in server.requests]
    assert forms == ["json_schema", "json_object", "json_object"]  # remembered after one refusal
    assert json.loads(first.text)["narrative"].startswith("You ")
    assert first.usage.prompt_tokens == 1026
    assert first.usage.cached_tokens == 0


async def test_local_form_clamps_every_max_length_below_the_grammar_limit(server: LLMServer) -> None:
    """Recorded: the unclamped schema (narrative maxLength 8000) made llama.cpp fail to build
    its grammar ("number of rules ... exceeds sane defaults") and exit; 600 works."""
    crash = recorded("llamacpp_grammar_too_large.json")
    assert any("exceeds sane defaults" in line for line in crash["server_log"])
    schema = compile_.output_schema(recorded_input())
    assert max(s.get("maxLength", 0) for s in _strings(schema)) > schemas.LOCAL_MAX_LENGTH
    server.enqueue(Reply(body=recorded("qwen15b_new_prompt_1.json")["response"]))
    llm = _openai(server, max_tokens_param="max_tokens", structured="json_object")
    try:
        await llm.complete(MESSAGES, model="narrator", json_schema=schema, max_tokens=10)
    finally:
        await llm.aclose()
    body = server.requests[0].json
    sent = body["response_format"]["schema"]
    assert body["response_format"]["type"] == "json_object"
    lengths = sorted(s["maxLength"] for s in _strings(sent))
    assert lengths[-1] == schemas.LOCAL_MAX_LENGTH
    assert all(n <= schemas.LOCAL_MAX_SHORT_LENGTH for n in lengths[:-1])
    assert sent["properties"]["narrative"]["maxLength"] == schemas.LOCAL_MAX_LENGTH
    assert body["max_tokens"] == schemas.token_bound(sent) > 10  # above the bound


async def test_a_truncated_reply_goes_to_the_repair_path(server: LLMServer) -> None:
    """Recorded: max_tokens=40 stops llama.cpp mid-JSON with finish_reason "length"."""
    cut = recorded("qwen15b_truncated.json")
    ok = recorded("qwen15b_new_prompt_0.json")
    assert cut["response"]["choices"][0]["finish_reason"] == "length"
    server.enqueue(Reply(body=cut["response"]), Reply(body=ok["response"]))
    llm = _openai(server, max_tokens_param="max_tokens", structured="json_object")
    inp = recorded_input()
    messages = compile_.compile_directive(inp, json_mode=True)
    try:
        out, repaired, usage = await medium.complete_and_parse(llm, "narrator", messages, inp, json_mode=True)
    finally:
        await llm.aclose()
    assert repaired
    assert out.narrative.startswith("You slide")
    repair_prompt = server.requests[1].json["messages"][-1]["content"]
    assert "cut off at the length limit" in repair_prompt
    assert usage.prompt_tokens == 1026 * 2


async def test_a_truncated_reply_that_happens_to_parse_is_still_refused(server: LLMServer) -> None:
    inp = recorded_input()
    whole = recorded("qwen15b_new_prompt_0.json")["response"]
    cut = json.loads(json.dumps(whole))
    cut["choices"][0]["finish_reason"] = "length"
    server.enqueue(Reply(body=cut), Reply(body=cut))
    llm = _openai(server, structured="json_object")
    try:
        with pytest.raises(ParseError, match="cut off"):
            await medium.complete_and_parse(llm, "narrator", compile_.compile_directive(inp, json_mode=True), inp,
                                            json_mode=True)
    finally:
        await llm.aclose()


async def test_openai_cached_tokens_are_counted(server: LLMServer) -> None:
    body = openai_chat("{}", prompt_tokens=2000)
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 1536}
    server.enqueue(Reply(body=body))
    llm = _openai(server)
    try:
        done = await llm.complete(MESSAGES, model="gpt-4o-mini")
    finally:
        await llm.aclose()
    assert (done.usage.prompt_tokens, done.usage.cached_tokens) == (2000, 1536)


# --- Anthropic: output_config ---------------------------------------------------------------------

def _anthropic(server: LLMServer, **kw: Any) -> AnthropicAdapter:
    client = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="sk-ant-test", timeout=5,
                                      max_retries=0)
    return AnthropicAdapter(client, **kw)


async def test_anthropic_native_structured_output(server: LLMServer) -> None:
    schema = compile_.output_schema(recorded_input())
    reply = anthropic_message('{"narrative": "You wait."}', input_tokens=40, output_tokens=9)
    reply["usage"].update({"cache_read_input_tokens": 900, "cache_creation_input_tokens": 60})
    server.enqueue(Reply(body=reply))
    llm = _anthropic(server)
    try:
        done = await llm.complete(MESSAGES, model="claude-haiku-4-5", json_schema=schema)
    finally:
        await llm.aclose()
    body = server.requests[0].json
    fmt = body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["schema"]["additionalProperties"] is False
    assert JSON_INSTRUCTION not in body["system"]  # native: no instruction needed
    assert (done.usage.prompt_tokens, done.usage.cached_tokens) == (1000, 900)


async def test_anthropic_compatible_server_without_output_config_gets_the_instruction(server: LLMServer) -> None:
    server.enqueue(Reply(400, anthropic_error("output_config: Extra inputs are not permitted")),
                   Reply(body=anthropic_message("{}")), Reply(body=anthropic_message("{}")))
    llm = _anthropic(server)
    schema = {"type": "object", "properties": {"mood": {"type": "string"}}}
    try:
        await llm.complete(MESSAGES, model="claude-haiku-4-5", json_schema=schema)
        await llm.complete(MESSAGES, model="claude-haiku-4-5", json_schema=schema)
    finally:
        await llm.aclose()
    first, second, third = (r.json for r in server.requests)
    assert "output_config" in first
    assert "output_config" not in second
    assert JSON_INSTRUCTION in second["system"]
    assert "output_config" not in third  # remembered


async def test_anthropic_max_tokens_stop_is_truncated(server: LLMServer) -> None:
    server.enqueue(Reply(body=anthropic_message('{"narr', stop_reason="max_tokens")))
    llm = _anthropic(server)
    try:
        done = await llm.complete(MESSAGES, model="claude-haiku-4-5", json_schema={"type": "object"})
    finally:
        await llm.aclose()
    assert done.truncated


async def test_a_server_error_without_fallback_stays_transient(server: LLMServer) -> None:
    refused = recorded("llamacpp_json_schema_form.json")
    server.enqueue(Reply(refused["status"], refused["response"]))
    llm = _openai(server)  # OpenAI proper: no fallback form
    try:
        with pytest.raises(LLMTransientError):
            await llm.complete(MESSAGES, model="gpt-4o-mini", json_schema={"type": "object"})
    finally:
        await llm.aclose()
