"""Which model runs which role: the soft model, the Medium model, per-character overrides.

Defaults: ``MEDIUM_LLM`` when set; else OpenAI when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL``
is set; else Anthropic when ``ANTHROPIC_API_KEY`` is set; else the scripted narrator.
Each provider is built once and wrapped once (retry, timeout, limit, accounting), so limits
are per provider and shared by every role using it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthesis.llm import factory, wrappers
from synthesis.llm.base import LLM
from synthesis.llm.scripted import LABEL, Latency, ScriptedLLM
from synthesis.settings import Settings

DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5",
                  "scripted": "scripted"}


def default_spec(settings: Settings) -> str:
    if settings.medium_llm:
        return settings.medium_llm
    if settings.openai_api_key or settings.openai_base_url:
        return f"openai:{DEFAULT_MODELS['openai']}"
    if settings.anthropic_api_key:
        return f"anthropic:{DEFAULT_MODELS['anthropic']}"
    return "scripted"


@dataclass
class Registry:
    settings: Settings
    providers: dict[str, wrappers.AccountingLLM] = field(default_factory=dict)
    scripted: ScriptedLLM | None = None

    def provider(self, name: str) -> wrappers.AccountingLLM:
        if name not in self.providers:
            inner: LLM
            if name == "scripted":
                self.scripted = ScriptedLLM(seed=self.settings.medium_llm_seed,
                                            latency=Latency.parse(self.settings.medium_llm_latency),
                                            fail_rate=self.settings.medium_llm_fail_rate)
                inner = self.scripted
            else:
                inner = factory.build_provider(name, self.settings)
            # The scripted narrator's injected faults must reach the worker's retry/fail
            # policy, so it gets a single attempt here; real providers get tenacity retries.
            self.providers[name] = wrappers.wrap(
                inner, timeout=self.settings.medium_llm_timeout,
                concurrency=self.settings.medium_llm_concurrency,
                attempts=1 if name == "scripted" else 4)
        return self.providers[name]

    def resolve(self, spec: str | None) -> tuple[LLM, str, str]:
        """(llm, model, label) for a model spec; None means the Medium default."""
        provider, model = factory.parse_model_spec(spec or default_spec(self.settings))
        label = LABEL if provider == "scripted" else f"{provider}:{model}"
        return self.provider(provider), model, label

    def medium(self, override: str | None = None) -> tuple[LLM, str, str]:
        return self.resolve(override)

    def soft(self) -> tuple[LLM, str, str]:
        return self.resolve(self.settings.medium_soft_llm or default_spec(self.settings))

    @property
    def label(self) -> str:
        return self.resolve(None)[2]

    def json_mode(self, llm: LLM) -> bool:
        """Structured output where the provider supports it (OpenAI-compatible)."""
        return llm.provider == "openai"

    def snapshot(self) -> dict[str, Any]:
        return {name: p.snapshot() for name, p in self.providers.items()}

    async def aclose(self) -> None:
        for p in self.providers.values():
            await p.aclose()
