"""`LLM` over the `openai` SDK: OpenAI itself and every OpenAI-compatible server.

Ollama, LM Studio, vLLM and llama.cpp all speak `/v1/chat/completions` and `/v1/models`, so
one adapter covers them; only `base_url` (and often a dummy API key) differ.

The adapter makes exactly one HTTP attempt per `complete()`: retries, deadlines, concurrency
and accounting are wrappers (`wrappers.py`). Build the SDK client with `max_retries=0`; if it
was not, the adapter uses a copy with retries switched off so attempts never multiply.

Every SDK failure leaves as an `LLMError`:

* `LLMTimeout`: the SDK timed out.
* `LLMTransientError`: connection errors, 408/409/429 and 5xx (the statuses the SDK itself
  would retry), and a 2xx whose body is not a usable chat completion.
* `LLMError`: anything else (400, 401, 403, 404, 422, a refusal, ...). Not worth retrying.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, Literal

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.chat.completion_create_params import ResponseFormat

from synthesis.errors import LLMError, LLMTimeout, LLMTransientError
from synthesis.llm.base import Completion, Message, Usage

logger = logging.getLogger(__name__)

MaxTokensParam = Literal["max_tokens", "max_completion_tokens"]

# The statuses the openai SDK's own retry policy treats as retryable.
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


class OpenAIAdapter:
    """An `LLM` backed by `openai.AsyncOpenAI.chat.completions.create`.

    `provider` labels the output (e.g. "openai", or "ollama" for a local server).
    `max_tokens_param` names the length cap sent on the wire: OpenAI's reasoning models accept
    only `max_completion_tokens`, while several compatible servers read only `max_tokens`.
    The adapter does not own the client's lifetime beyond `aclose()`, which closes it.
    """

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        provider: str = "openai",
        max_tokens_param: MaxTokensParam = "max_completion_tokens",
    ) -> None:
        self.provider = provider
        self.max_tokens_param: MaxTokensParam = max_tokens_param
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
        """One chat completion. With `json_schema`, ask for JSON via `response_format`.

        `strict` is off: strict mode rejects common schema features (optional properties,
        open objects) and most compatible servers ignore it anyway, so the output is still
        validated by `parse.py`, not trusted here.
        """
        use_legacy_cap = self.max_tokens_param == "max_tokens"
        response_format: ResponseFormat | openai.Omit = openai.omit
        if json_schema is not None:
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": json_schema, "strict": False},
            }
        try:
            response = await self._client.chat.completions.create(
                model=model,
                messages=_to_openai_messages(messages),
                temperature=temperature,
                response_format=response_format,
                max_tokens=max_tokens if use_legacy_cap else openai.omit,
                max_completion_tokens=openai.omit if use_legacy_cap else max_tokens,
            )
        except openai.OpenAIError as exc:
            raise _translate(exc, provider=self.provider, model=model) from exc
        except json.JSONDecodeError as exc:
            raise _malformed(self.provider, model, "the response body is not valid JSON") from exc
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
        raise _translate(exc, provider=provider, model="") from exc
    except json.JSONDecodeError as exc:
        raise _malformed(provider, "", "the /models body is not valid JSON") from exc
    except (AttributeError, TypeError) as exc:  # a 2xx body without a `data` list
        raise _malformed(provider, "", "the /models body has no model list") from exc
    return sorted(ids)


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
        raise _malformed(provider, requested_model, "the response has no choices")
    choice = response.choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None)
    if not isinstance(content, str):
        refusal = getattr(message, "refusal", None)
        if refusal:
            raise LLMError(f"{provider} model refused: {refusal}", provider=provider)
        raise _malformed(provider, requested_model, "the first choice has no text content")
    if choice.finish_reason == "length":
        logger.warning(
            "completion truncated at max_tokens",
            extra={"action": "llm_complete", "provider": provider, "model": requested_model},
        )
    usage = response.usage
    return Completion(
        text=content,
        usage=Usage(
            prompt_tokens=getattr(usage, "prompt_tokens", None) or 0,
            completion_tokens=getattr(usage, "completion_tokens", None) or 0,
        ),
        model=response.model or requested_model,
        provider=provider,
    )


def _malformed(provider: str, model: str, why: str) -> LLMTransientError:
    logger.warning(
        "malformed LLM response",
        extra={"action": "llm_complete", "provider": provider, "model": model, "reason": why},
    )
    return LLMTransientError(f"{provider} returned a malformed response: {why}", provider=provider)


def _translate(exc: openai.OpenAIError, *, provider: str, model: str) -> LLMError:
    """Map an SDK exception to our error family (see the module docstring)."""
    status: int | None = getattr(exc, "status_code", None)
    error: LLMError
    if isinstance(exc, openai.APITimeoutError):
        error = LLMTimeout(f"{provider} request timed out", provider=provider)
    elif isinstance(exc, openai.APIConnectionError):
        error = LLMTransientError(f"cannot reach {provider}: {exc.message}", provider=provider)
    elif isinstance(exc, openai.APIResponseValidationError):
        error = LLMTransientError(
            f"{provider} returned a malformed response", provider=provider, status=status
        )
    elif isinstance(exc, openai.APIStatusError):
        message = f"{provider} returned HTTP {exc.status_code}: {exc.message}"
        if exc.status_code in _TRANSIENT_STATUSES or exc.status_code >= 500:
            retry_after = _retry_after(exc.response.headers.get("retry-after"))
            details: dict[str, Any] = {"provider": provider, "status": exc.status_code}
            if retry_after is not None:
                details["retry_after"] = retry_after
            error = LLMTransientError(message, **details)
        else:
            error = LLMError(message, provider=provider, status=exc.status_code)
    else:
        error = LLMError(f"{provider} call failed: {exc}", provider=provider)
    logger.warning(
        "LLM call failed",
        extra={
            "action": "llm_complete",
            "provider": provider,
            "model": model,
            "status": status,
            "error": type(error).__name__,
            "sdk_error": type(exc).__name__,
        },
    )
    return error


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header; HTTP-date values are ignored (None)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
