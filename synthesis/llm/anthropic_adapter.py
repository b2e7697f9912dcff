"""`LLM` over the `anthropic` SDK (Claude's Messages API).

Like the OpenAI adapter, this makes exactly one HTTP attempt per call (build the client with
`max_retries=0`; otherwise a copy with retries off is used) and translates every SDK failure
with `synthesis.llm.errors` (`LLMTimeout`; `LLMTransientError` for connection errors,
408/409/429, any status >= 500, 529 "overloaded" included, an error event or a broken
connection mid-stream, and a 2xx whose body is not a usable message; `LLMError` for the rest, a
refusal included). A status error's text is the API's own message when the body carries one.

Inside `base.stream()` the call streams (`messages.create(stream=True)`): each text delta goes
to the sink, and the events (`message_start` with the input usage, `content_block_delta`,
`message_delta` with the stop reason and output usage, `message_stop`) make the same
`Completion` as the unstreamed call, `truncated` when `stop_reason == "max_tokens"`. A server
that answers with one JSON body instead is read as the unstreamed call, its text one chunk.

Two SDK facts shape this module (anthropic 2.x):

* `messages.create` has no `temperature` parameter any more, so `temperature` is accepted
  for protocol compatibility and not sent.
* JSON output uses native structured output: `output_config={"format": {"type":
  "json_schema", "schema": ...}}`, the schema passed through `anthropic.transform_schema`
  (which moves keywords the API does not enforce, such as `maxLength`, into descriptions).
  An Anthropic-compatible server that rejects `output_config` with a 400/422 gets the
  instruction form instead (the schema appended to the system prompt), from then on; an
  adapter built with `native_json=False` uses the instruction form from the start.
  `parse.py` validates the result either way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, Sequence
from typing import Any, cast

import anthropic
import pydantic
from anthropic.types import Message as AnthropicMessage
from anthropic.types import MessageParam, OutputConfigParam

from synthesis.errors import LLMError
from synthesis.llm import errors as llm_errors
from synthesis.llm.base import Completion, Delta, Message, Usage, delta_sink

logger = logging.getLogger(__name__)
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


_HTTP_TIMEOUTS, _HTTP_FAILURES = llm_errors.http_errors()
_FAILURES: tuple[type[Exception], ...] = (anthropic.AnthropicError, *_HTTP_FAILURES)


def _api_message(exc: llm_errors.StatusError) -> str:
    """The API's own error text, else the SDK's summary of the status."""
    return cast(anthropic.APIStatusError, exc).api_message or exc.message


_SDK_ERRORS = llm_errors.SdkErrors(
    timeout=(anthropic.APITimeoutError, *_HTTP_TIMEOUTS),
    connection=(anthropic.APIConnectionError, *_HTTP_FAILURES),
    validation=anthropic.APIResponseValidationError, status=anthropic.APIStatusError, logger=logger,
    status_detail=_api_message,  # an `error` event mid-stream is a status error of the 200
)

JSON_INSTRUCTION = (
    "Answer with only a JSON value that matches the JSON Schema below: no prose, no "
    "explanation, no Markdown code fences.\nJSON Schema:\n"
)


class AnthropicAdapter:
    """An `LLM` backed by `anthropic.AsyncAnthropic.messages.create`.

    System messages are joined (blank-line separated, in order) into the `system` parameter;
    user and assistant messages keep their order. `aclose()` closes the SDK client.
    """

    def __init__(self, client: anthropic.AsyncAnthropic, *, provider: str = "anthropic",
                 native_json: bool = True) -> None:
        self.provider = provider
        self.native_json = native_json
        self._client = client if client.max_retries == 0 else client.with_options(max_retries=0)

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,  # not sent: see the module docstring
    ) -> Completion:
        """One message. With `json_schema`, native structured output (or the instruction form)."""
        system, chat = split_system(messages)
        if json_schema is not None and self.native_json:
            try:
                return await self._create(model, max_tokens, chat, system, {"format": {
                    "type": "json_schema", "schema": anthropic.transform_schema(json_schema)}})
            except LLMError as exc:
                if exc.details.get("status") not in (400, 422):
                    raise
                logger.warning("provider rejected output_config; using the JSON instruction",
                               extra={"action": "llm_structured_fallback", "provider": self.provider,
                                      "model": model})
                self.native_json = False
        if json_schema is not None:
            # In the schema's own order: the outcome before the narrative, as it is to be written.
            instruction = JSON_INSTRUCTION + json.dumps(json_schema, indent=2)
            system = f"{system}\n\n{instruction}" if system else instruction
        return await self._create(model, max_tokens, chat, system, None)

    async def _create(self, model: str, max_tokens: int, chat: list[MessageParam], system: str,
                      output_config: OutputConfigParam | None) -> Completion:
        sink = delta_sink()
        try:
            if sink is not None:
                events = await self._client.messages.create(
                    model=model,
                    max_tokens=max_tokens,
                    messages=chat,
                    system=system if system else anthropic.omit,
                    output_config=output_config if output_config is not None else anthropic.omit,
                    stream=True,
                )
                async with events:
                    if events.response.headers.get("content-type", "").startswith("application/json"):
                        done = _to_completion(_unstreamed(await events.response.aread()), provider=self.provider,
                                              requested_model=model)  # a server that does not stream
                        sink(done.text)
                        return done
                    return await _collect(events, sink, provider=self.provider, requested_model=model)
            response = await self._client.messages.create(
                model=model,
                max_tokens=max_tokens,
                messages=chat,
                system=system if system else anthropic.omit,
                output_config=output_config if output_config is not None else anthropic.omit,
            )
        except _FAILURES as exc:
            raise llm_errors.translate(exc, _SDK_ERRORS, provider=self.provider, model=model) from exc
        except json.JSONDecodeError as exc:
            raise llm_errors.malformed(logger, self.provider, model, "the response body is not valid JSON") from exc
        return _to_completion(response, provider=self.provider, requested_model=model)

    async def aclose(self) -> None:
        """Close the SDK client (and its connection pool)."""
        await self._client.close()


def _unstreamed(raw: bytes) -> AnthropicMessage | None:
    """A message body read by hand (the SDK expected events); None when it is not one."""
    try:
        return AnthropicMessage.model_validate_json(raw)
    except pydantic.ValidationError:
        return None


def split_system(messages: Sequence[Message]) -> tuple[str, list[MessageParam]]:
    """(joined system text, the user/assistant turns in order)."""
    system: list[str] = []
    chat: list[MessageParam] = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "system":
            system.append(content)
        elif role == "user":
            chat.append({"role": "user", "content": content})
        else:
            chat.append({"role": "assistant", "content": content})
    return "\n\n".join(system), chat


def _to_completion(response: object, *, provider: str, requested_model: str) -> Completion:
    # Non-strict SDK parsing returns a str for a non-JSON content type and a Message with
    # missing fields for JSON of the wrong shape; neither is usable.
    if not isinstance(response, AnthropicMessage) or not isinstance(response.content, list):
        raise llm_errors.malformed(logger, provider, requested_model, "the response has no content blocks")
    texts = [
        text
        for block in response.content
        if getattr(block, "type", None) == "text"
        and isinstance(text := getattr(block, "text", None), str)
    ]
    usage: dict[str, int] = {}
    _count(usage, getattr(response, "usage", None))
    return _completion(texts, response.stop_reason, usage, served=getattr(response, "model", None),
                       provider=provider, requested_model=requested_model)


async def _collect(events: AsyncIterable[object], sink: Delta, *, provider: str,
                   requested_model: str) -> Completion:
    """Read a Messages stream to its `message_stop`, sending each text delta to `sink`, into the
    `Completion` the unstreamed call would return. Usage counts on `message_delta` are running
    totals, so they replace those of `message_start`."""
    texts: list[str] = []
    usage: dict[str, int] = {}
    served: str | None = None
    stop_reason: str | None = None
    started = stopped = False
    async for event in events:  # non-strict parsing: every field is read warily
        kind = getattr(event, "type", None)
        if kind == "message_start":
            started = True
            message = getattr(event, "message", None)
            served = getattr(message, "model", None)
            _count(usage, getattr(message, "usage", None))
        elif kind in ("content_block_start", "content_block_delta"):
            part = getattr(event, "content_block", None) or getattr(event, "delta", None)
            if getattr(part, "type", None) in ("text", "text_delta") and isinstance(
                    text := getattr(part, "text", None), str) and text:
                texts.append(text)
                sink(text)
        elif kind == "message_delta":
            stop_reason = getattr(getattr(event, "delta", None), "stop_reason", None) or stop_reason
            _count(usage, getattr(event, "usage", None))
        elif kind == "message_stop":
            stopped = True
    if not started or not stopped:
        why = "the stream ended before message_stop" if started else "the stream has no message_start"
        raise llm_errors.malformed(logger, provider, requested_model, why)
    return _completion(texts, stop_reason, usage, served=served, provider=provider, requested_model=requested_model)


def _count(usage: dict[str, int], reported: object) -> None:
    for name in _USAGE_FIELDS:
        if isinstance(value := getattr(reported, name, None), int):
            usage[name] = value


def _completion(texts: list[str], stop_reason: str | None, usage: dict[str, int], *, served: str | None,
                provider: str, requested_model: str) -> Completion:
    if stop_reason == "refusal":
        raise LLMError(f"{provider} model refused to answer", provider=provider)
    if not texts:
        raise llm_errors.malformed(logger, provider, requested_model, "the response has no text block")
    truncated = stop_reason == "max_tokens"
    if truncated:
        logger.warning(
            "completion truncated at max_tokens",
            extra={"action": "llm_complete", "provider": provider, "model": requested_model},
        )
    # `input_tokens` excludes what was read from or written to the prompt cache.
    cached = usage.get("cache_read_input_tokens", 0)
    written = usage.get("cache_creation_input_tokens", 0)
    return Completion(
        text="".join(texts),
        usage=Usage(
            prompt_tokens=usage.get("input_tokens", 0) + cached + written,
            completion_tokens=usage.get("output_tokens", 0),
            cached_tokens=cached,
        ),
        model=served or requested_model,
        provider=provider,
        truncated=truncated,
    )
