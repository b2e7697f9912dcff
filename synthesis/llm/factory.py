"""From settings to SDK-backed `LLM`s: model specs and provider construction.

A model spec is `"<provider>:<model>"` (`"openai:gpt-4o-mini"`, `"anthropic:claude-haiku-4-5"`),
the bare word `"scripted"`, or `"local"` / `"local:<catalog name or GGUF path>"` (the
llama.cpp narrator, built by the registry from `local.py`). `build_provider` builds the bare
adapter for an SDK provider; callers wrap it with `wrappers.wrap` and own closing it
(`await llm.aclose()`). The scripted and local narrators are wired in `registry.py`.

The SDKs (and the adapters over them) are imported when a provider is built, not at import:
they take seconds to load, and a process on the scripted narrator never needs them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import SecretStr

from synthesis.errors import InvalidInput
from synthesis.llm.base import LLM
from synthesis.settings import Settings

if TYPE_CHECKING:  # the SDKs take seconds to import: only a process that builds one pays
    from synthesis.llm.anthropic_adapter import AnthropicAdapter
    from synthesis.llm.openai_adapter import OpenAIAdapter

logger = logging.getLogger(__name__)

SDK_PROVIDERS = ("openai", "anthropic")
PROVIDERS = (*SDK_PROVIDERS, "scripted", "canned", "local")
# Sent when an OpenAI-compatible server (Ollama, LM Studio, ...) needs no key: the SDK
# refuses to build a client without one.
PLACEHOLDER_API_KEY = "not-needed"


def parse_model_spec(spec: str) -> tuple[str, str]:
    """`"provider:model"` -> `(provider, model)`; `"scripted"` -> `("scripted", "scripted")`
    (`"canned"`, the benchmarks' zero-cost narrator, likewise);
    `"local"` -> `("local", "")` (the installed default) and `"local:x"` -> `("local", "x")`.

    Only the first colon separates, so model names may contain colons
    (`"openai:llama3.1:8b"` -> `("openai", "llama3.1:8b")`). Surrounding whitespace is ignored.
    Raises `InvalidInput` naming the problem: an empty spec, an unknown provider, or a
    missing model.
    """
    text = spec.strip()
    if not text:
        raise InvalidInput("model spec is empty; expected 'provider:model' or 'scripted'")
    provider, sep, model = text.partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if provider not in PROVIDERS:
        raise InvalidInput(
            f"unknown LLM provider {provider!r} in model spec {spec!r}; "
            f"expected one of {', '.join(PROVIDERS)}"
        )
    if provider in ("scripted", "canned"):
        return provider, model or provider
    if provider == "local":
        return provider, model
    if not sep or not model:
        raise InvalidInput(f"model spec {spec!r} names no model; expected '{provider}:<model>'")
    return provider, model


def build_provider(provider: str, settings: Settings) -> LLM:
    """The bare SDK adapter for `provider` ("openai" or "anthropic"), configured from settings.

    The SDK client gets `max_retries=0` (retries belong to `wrappers.RetryLLM`) and
    `settings.medium_llm_timeout` as its network timeout. A key is required unless a base
    URL points at a compatible server, which gets a placeholder key. Raises `InvalidInput`
    for a missing key or an unknown provider ("scripted" included: it is built elsewhere).
    """
    if provider == "openai":
        key = _api_key(settings.openai_api_key, settings.openai_base_url, "OPENAI_API_KEY")
        return build_openai(api_key=key, base_url=settings.openai_base_url,
                            timeout=settings.medium_llm_timeout)
    if provider == "anthropic":
        key = _api_key(settings.anthropic_api_key, settings.anthropic_base_url, "ANTHROPIC_API_KEY")
        return build_anthropic(api_key=key, base_url=settings.anthropic_base_url,
                               timeout=settings.medium_llm_timeout)
    raise InvalidInput(
        f"no SDK provider named {provider!r}; build_provider knows {', '.join(SDK_PROVIDERS)}"
    )


def build_openai(*, api_key: str, base_url: str | None, timeout: float) -> OpenAIAdapter:
    """OpenAI itself (no `base_url`) or an OpenAI-compatible server.

    OpenAI proper gets `max_completion_tokens` (reasoning models reject `max_tokens`) and
    strict `json_schema`. A compatible server gets `max_tokens` (llama.cpp, LM Studio and
    older Ollama read only that) and starts with `json_schema` too, falling back to the
    `json_object` + `schema` form when the server refuses it (llama-cpp-python answers 500).
    """
    import openai

    from synthesis.llm.openai_adapter import OpenAIAdapter

    client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
    compatible = base_url is not None
    logger.info(
        "built LLM provider",
        extra={"action": "build_provider", "provider": "openai", "compatible": compatible},
    )
    return OpenAIAdapter(
        client,
        provider="openai",
        max_tokens_param="max_tokens" if compatible else "max_completion_tokens",
        fallback_forms=("json_object",) if compatible else (),
    )


def build_anthropic(*, api_key: str, base_url: str | None, timeout: float) -> AnthropicAdapter:
    """Claude (native structured output; an Anthropic-compatible server may fall back)."""
    import anthropic

    from synthesis.llm.anthropic_adapter import AnthropicAdapter

    client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
    logger.info(
        "built LLM provider",
        extra={"action": "build_provider", "provider": "anthropic"},
    )
    return AnthropicAdapter(client, provider="anthropic")


def _api_key(secret: SecretStr | None, base_url: str | None, env_name: str) -> str:
    """The configured key, the placeholder for a keyless compatible server, or `InvalidInput`.

    An explicit key also stops the SDKs from hunting for credentials in the environment or
    on disk behind our back.
    """
    if secret is not None and secret.get_secret_value():
        return secret.get_secret_value()
    if base_url:
        return PLACEHOLDER_API_KEY
    raise InvalidInput(f"{env_name} is not set", field=env_name)
