"""`LLM` over the `openai` SDK: OpenAI itself and every OpenAI-compatible server.

Ollama, LM Studio, vLLM and llama.cpp all speak `/v1/chat/completions` and `/v1/models`, so
one adapter covers them; only `base_url` (and often a dummy API key) differ.

The adapter makes exactly one HTTP attempt per `complete()`: retries, deadlines, concurrency
and accounting are wrappers (`wrappers.py`). Inside `base.stream()` it streams
(`stream=True`, `stream_options={"include_usage": true}`), sending each content delta to the
sink and assembling the same `Completion` as the unstreamed call: text, usage (from the final
usage chunk), `truncated` when `finish_reason == "length"`. A server that answers with one JSON
body instead is read as the unstreamed call, its text one chunk. Build the SDK client with `max_retries=0`; if it
was not, the adapter uses a copy with retries switched off so attempts never multiply.

Every SDK failure leaves as an `LLMError`, translated by `synthesis.llm.errors` (shared with
the Anthropic adapter):

* `LLMTimeout`: the SDK timed out.
* `LLMTransientError`: connection errors, 408/409/429 and 5xx (the statuses the SDK itself
  would retry), an error chunk or a broken connection mid-stream, a stream that ends without a
  `finish_reason`, and a 2xx whose body is not a usable chat completion.
* `LLMError`: anything else (400, 401, 403, 404, 422, a refusal, ...). Not worth retrying.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import openai
import pydantic
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

from synthesis.errors import LLMError
from synthesis.llm import errors as llm_errors
from synthesis.llm import schema as schemas
from synthesis.llm.base import Completion, Delta, Message, Usage, delta_sink

logger = logging.getLogger(__name__)
_HTTP_TIMEOUTS, _HTTP_FAILURES = llm_errors.http_errors()
_FAILURES: tuple[type[Exception], ...] = (openai.OpenAIError, *_HTTP_FAILURES)
_SDK_ERRORS = llm_errors.SdkErrors(
    timeout=(openai.APITimeoutError, *_HTTP_TIMEOUTS), connection=(openai.APIConnectionError, *_HTTP_FAILURES),
    validation=openai.APIResponseValidationError, status=openai.APIStatusError, logger=logger,
    stream=openai.APIError,  # an {"error": ...} chunk inside the stream
)

MaxTokensParam = Literal["max_tokens", "max_completion_tokens"]
# How a JSON Schema reaches the server (see `schema.py`):
# "json_schema": OpenAI's `response_format={"type": "json_schema", ..., "strict": true}`;
# "json_object": llama.cpp's `response_format={"type": "json_object", "schema": ...}` (its
#   server answers the json_schema form with HTTP 500), with every maxLength clamped;
# "none": no response_format at all (the prompt's OUTPUT FORMAT instruction only).
StructuredForm = Literal["json_schema", "json_object", "none"]
STRUCTURED_FORMS: tuple[StructuredForm, ...] = ("json_schema", "json_object", "none")


class OpenAIAdapter:
    """An `LLM` backed by `openai.AsyncOpenAI.chat.completions.create`.

    `provider` labels the output (e.g. "openai", or "ollama" for a local server).
    `max_tokens_param` names the length cap sent on the wire: OpenAI's reasoning models accept
    only `max_completion_tokens`, while several compatible servers read only `max_tokens`.
    `structured` is the request form for a JSON Schema (`StructuredForm`). When the server
    refuses it (HTTP 400, 422 or 500 to a call carrying a schema), the adapter moves to the
    next of `fallback_forms` for that call and every later one, and logs the switch once.
    `stream_usage` asks a stream for its usage chunk (`stream_options`); a server that refuses
    the option (HTTP 400/422 to a streamed call) is asked without it from then on. A stream that
    carries no usage (llama-cpp-python 0.3.36 ignores the option) counts one completion token
    per content chunk, which is what llama.cpp sends, and no prompt tokens.
    The adapter does not own the client's lifetime beyond `aclose()`, which closes it.
    """

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        provider: str = "openai",
        max_tokens_param: MaxTokensParam = "max_completion_tokens",
        structured: StructuredForm = "json_schema",
        fallback_forms: Sequence[StructuredForm] = (),
    ) -> None:
        self.provider = provider
        self.max_tokens_param: MaxTokensParam = max_tokens_param
        self.structured: StructuredForm = structured
        self._fallbacks: list[StructuredForm] = list(fallback_forms)
        self.stream_usage = True
        self._client = client if client.max_retries == 0 else client.with_options(max_retries=0)

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,
    ) -> Completion:
        """One chat completion. With `json_schema`, ask for it in this adapter's structured form
        (moving to a fallback form if the server refuses it: see the class docstring).

        `max_tokens` is raised to the schema's `token_bound` when that is larger, so a reply
        within the schema's length bounds is never cut off; a reply that still stops at the
        limit comes back with `truncated=True`. The output is validated by `parse.py`
        either way, never trusted here.
        """
        while True:
            sink = delta_sink()
            try:
                return await self._complete(messages, model, json_schema, max_tokens, temperature, sink)
            except LLMError as exc:
                status = exc.details.get("status")
                if sink is not None and self.stream_usage and status in (400, 422):
                    self.stream_usage = False
                    logger.warning("server refused stream_options; streaming without usage", extra={
                        "action": "llm_stream_fallback", "provider": self.provider, "model": model})
                    continue
                if json_schema is None or not self._fallbacks or status not in (400, 422, 500):
                    raise
                refused, self.structured = self.structured, self._fallbacks.pop(0)
                logger.warning("server refused the structured-output form; falling back", extra={
                    "action": "llm_structured_fallback", "provider": self.provider, "model": model,
                    "refused": refused, "now": self.structured})

    async def _complete(self, messages: Sequence[Message], model: str, json_schema: dict[str, Any] | None,
                        max_tokens: int, temperature: float, sink: Delta | None) -> Completion:
        use_legacy_cap = self.max_tokens_param == "max_tokens"
        body: dict[str, Any] = {}
        if json_schema is not None:
            bounded = json_schema
            if self.structured == "json_schema":
                body["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": "output", "schema": schemas.strict_schema(json_schema), "strict": True}}
            elif self.structured == "json_object":
                bounded = schemas.clamped_schema(json_schema)
                body["response_format"] = {"type": "json_object", "schema": bounded}
            max_tokens = max(max_tokens, schemas.token_bound(bounded))
        # Sent as a raw body field: the SDK's typed `response_format` has no `schema` key for
        # the json_object form, and both forms are plain JSON on the wire.
        request: dict[str, Any] = {
            "model": model, "messages": _to_openai_messages(messages), "temperature": temperature,
            "max_tokens": max_tokens if use_legacy_cap else openai.omit,
            "max_completion_tokens": openai.omit if use_legacy_cap else max_tokens,
            "extra_body": body or None}
        try:
            if sink is not None:
                chunks = await self._client.chat.completions.create(
                    **request,
                    stream=True,
                    stream_options={"include_usage": True} if self.stream_usage else openai.omit,
                )
                async with chunks:
                    if _is_json(chunks.response.headers):  # a server that does not stream
                        response = _unstreamed(await chunks.response.aread())
                        done = _to_completion(response, provider=self.provider, requested_model=model)
                        sink(done.text)
                        return done
                    return await _collect(chunks, sink, provider=self.provider, requested_model=model)
            response = await self._client.chat.completions.create(**request)
        except _FAILURES as exc:
            raise llm_errors.translate(exc, _SDK_ERRORS, provider=self.provider, model=model) from exc
        except json.JSONDecodeError as exc:
            raise llm_errors.malformed(logger, self.provider, model, "the response body is not valid JSON") from exc
        return _to_completion(response, provider=self.provider, requested_model=model)

    async def aclose(self) -> None:
        """Close the SDK client (and its connection pool)."""
        await self._client.close()


async def list_models(client: openai.AsyncOpenAI, *, provider: str = "openai") -> list[str]:
    """Model ids from the OpenAI-compatible `GET /models` endpoint, sorted and de-duplicated.

    Errors are translated exactly as in `OpenAIAdapter.complete`.
    """
    try:
        ids = {model.id async for model in client.models.list()}
    except openai.OpenAIError as exc:
        raise llm_errors.translate(exc, _SDK_ERRORS, provider=provider, model="") from exc
    except json.JSONDecodeError as exc:
        raise llm_errors.malformed(logger, provider, "", "the /models body is not valid JSON") from exc
    except (AttributeError, TypeError) as exc:  # a 2xx body without a `data` list
        raise llm_errors.malformed(logger, provider, "", "the /models body has no model list") from exc
    return sorted(ids)


def _is_json(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/json")


def _unstreamed(raw: bytes) -> ChatCompletion | None:
    """A chat completion body read by hand (the SDK expected events); None when it is not one."""
    try:
        return ChatCompletion.model_validate_json(raw)
    except pydantic.ValidationError:
        return None


def _to_openai_messages(messages: Sequence[Message]) -> list[ChatCompletionMessageParam]:
    out: list[ChatCompletionMessageParam] = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "system":
            out.append({"role": "system", "content": content})
        elif role == "user":
            out.append({"role": "user", "content": content})
        else:
            out.append({"role": "assistant", "content": content})
    return out


def _to_completion(response: object, *, provider: str, requested_model: str) -> Completion:
    # Non-strict SDK parsing hands back whatever the server sent: a str for a non-JSON content
    # type, a ChatCompletion with `choices=None` for JSON of the wrong shape.
    if not isinstance(response, ChatCompletion) or not response.choices:
        raise llm_errors.malformed(logger, provider, requested_model, "the response has no choices")
    choice = response.choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None)
    if not isinstance(content, str):
        refusal = getattr(message, "refusal", None)
        if refusal:
            raise LLMError(f"{provider} model refused: {refusal}", provider=provider)
        raise llm_errors.malformed(logger, provider, requested_model, "the first choice has no text content")
    return _completion(content, choice.finish_reason, _usage(response.usage), served=response.model,
                       provider=provider, requested_model=requested_model)


async def _collect(chunks: openai.AsyncStream[ChatCompletionChunk], sink: Delta, *, provider: str,
                   requested_model: str) -> Completion:
    """Read a chat completion stream to its end, sending each content delta of the first choice
    to `sink`, into the `Completion` the unstreamed call would return."""
    parts: list[str] = []
    refusal: list[str] = []
    finish: str | None = None
    usage: object = None
    served = ""
    async for chunk in chunks:
        # Non-strict parsing hands back whatever a server sent, so every field is read warily.
        if not isinstance(chunk, ChatCompletionChunk):
            raise llm_errors.malformed(logger, provider, requested_model, "a stream chunk is not a completion chunk")
        served = getattr(chunk, "model", None) or served
        usage = getattr(chunk, "usage", None) or usage
        for choice in getattr(chunk, "choices", None) or []:
            if getattr(choice, "index", 0) != 0:
                continue
            delta = getattr(choice, "delta", None)
            if isinstance(text := getattr(delta, "content", None), str) and text:
                parts.append(text)
                sink(text)
            if isinstance(refused := getattr(delta, "refusal", None), str):
                refusal.append(refused)
            finish = getattr(choice, "finish_reason", None) or finish
    if not parts:
        if refusal:
            raise LLMError(f"{provider} model refused: {''.join(refusal)}", provider=provider)
        raise llm_errors.malformed(logger, provider, requested_model, "the stream carried no text content")
    if finish is None:
        raise llm_errors.malformed(logger, provider, requested_model, "the stream ended before its finish_reason")
    # No usage chunk: the server ignored stream_options; llama.cpp sends one token per chunk.
    counted = _usage(usage) if usage is not None else Usage(completion_tokens=len(parts))
    return _completion("".join(parts), finish, counted, served=served, provider=provider,
                       requested_model=requested_model)


def _usage(usage: object) -> Usage:
    details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        prompt_tokens=getattr(usage, "prompt_tokens", None) or 0,
        completion_tokens=getattr(usage, "completion_tokens", None) or 0,
        cached_tokens=getattr(details, "cached_tokens", None) or 0,
    )


def _completion(text: str, finish_reason: str | None, usage: Usage, *, served: str | None, provider: str,
                requested_model: str) -> Completion:
    truncated = finish_reason == "length"
    if truncated:
        logger.warning(
            "completion truncated at max_tokens",
            extra={"action": "llm_complete", "provider": provider, "model": requested_model},
        )
    return Completion(text=text, usage=usage, model=served or requested_model, provider=provider,
                      truncated=truncated)
