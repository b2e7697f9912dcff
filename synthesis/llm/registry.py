"""Which model runs which role: the soft model, the Medium model, per-character overrides.

Resolution of a model reference (a character's `model`, `MEDIUM_LLM`, `MEDIUM_SOFT_LLM`):

1. a row of the `models` table with that name (provider, base URL, encrypted key), read
   with `await registry.refresh(store)` (at most every `ROWS_MAX_AGE` seconds); with no
   reference, the row whose `role` matches (`medium` or `soft`);
2. else a model spec (`factory.parse_model_spec`): `provider:model`, `scripted`, `local`;
3. with no reference and no role row: `MEDIUM_LLM`; else OpenAI when `OPENAI_API_KEY` or
   `OPENAI_BASE_URL` is set; else Anthropic when `ANTHROPIC_API_KEY` is set; else scripted.

Each provider (each row, each local model) is built once and wrapped once (retry, timeout,
limit, accounting), so limits are per provider and shared by every role using it. A row's
key is decrypted here, in the process that calls the provider, and added to the log masking
filters at once. `local` when nothing is installed logs one line saying how to install it
and runs the scripted narrator instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from synthesis.errors import InvalidInput
from synthesis.llm import catalog, factory, install, keys, local, wrappers
from synthesis.llm.base import LLM
from synthesis.llm.canned import LABEL as CANNED_LABEL
from synthesis.llm.canned import CannedLLM
from synthesis.llm.scripted import LABEL, Latency, ScriptedLLM
from synthesis.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5",
                  "scripted": "scripted"}
# A local server answers one request at a time, so calls queue behind each other: a deadline
# must cover the queue, not one call (15-25 s per narration on 2 cores), and more than one
# call in flight per process only lengthens the queue.
LOCAL_TIMEOUT = 600.0
LOCAL_CONCURRENCY = 1
SOFT_TIMEOUT = 5.0
LOCAL_SOFT_TIMEOUT = 120.0
ROWS_MAX_AGE = 5.0  # seconds a process keeps the `models` rows before reading them again


def default_spec(settings: Settings) -> str:
    if settings.medium_llm:
        return settings.medium_llm
    if settings.openai_api_key or settings.openai_base_url:
        return f"openai:{DEFAULT_MODELS['openai']}"
    if settings.anthropic_api_key:
        return f"anthropic:{DEFAULT_MODELS['anthropic']}"
    return "scripted"


@dataclass(frozen=True)
class ModelRow:
    """One `models` row as the runtime needs it (the key still encrypted)."""

    name: str
    provider: str
    model: str
    base_url: str | None = None
    api_key_encrypted: str | None = None
    role: str | None = None


@dataclass
class Registry:
    settings: Settings
    providers: dict[str, wrappers.AccountingLLM] = field(default_factory=dict)
    scripted: ScriptedLLM | None = None
    rows: dict[str, ModelRow] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)
    _loaded_at: float | None = None

    def provider(self, name: str) -> wrappers.AccountingLLM:
        """The wrapped provider for an env-configured provider name ("openai", "scripted", ...)."""
        if name not in self.providers:
            inner: LLM
            if name == "scripted":
                self.scripted = ScriptedLLM(seed=self.settings.medium_llm_seed,
                                            latency=Latency.parse(self.settings.medium_llm_latency),
                                            fail_rate=self.settings.medium_llm_fail_rate)
                inner = self.scripted
            elif name == "canned":
                inner = CannedLLM()
            else:
                inner = factory.build_provider(name, self.settings)
            self.providers[name] = self._wrap(name, inner)
        return self.providers[name]

    def _wrap(self, key: str, inner: LLM) -> wrappers.AccountingLLM:
        # The scripted narrator's injected faults must reach the worker's retry/fail
        # policy, so it gets a single attempt here; real providers get tenacity retries.
        is_local = inner.provider == "local"
        explicit = self.settings.model_fields_set
        timeout = self.settings.medium_llm_timeout
        concurrency = self.settings.medium_llm_concurrency
        if is_local and "medium_llm_timeout" not in explicit:
            timeout = LOCAL_TIMEOUT
        if is_local and "medium_llm_concurrency" not in explicit:
            concurrency = LOCAL_CONCURRENCY
        return wrappers.wrap(inner, timeout=timeout, concurrency=concurrency,
                             attempts=1 if key in ("scripted", "canned") else (2 if is_local else 4))

    def _local(self, ref: str) -> tuple[LLM, str, str] | None:
        paths = install.Paths(self.settings.medium_data_dir)
        path = install.resolve_model(paths, ref or None)
        if path is None or not paths.python.exists():
            if ref not in self._warned:
                self._warned.add(ref)
                what = "runtime" if path is not None else f"model {ref or '(default)'}"
                log.warning(f"local narrator {what} is not installed: run `medium narrator install`"
                            f"{' --model ' + ref if ref in catalog.MODELS else ''}; using the scripted "
                            "narrator instead", extra={"action": "local_not_installed", "ref": ref})
            return None
        key = f"local:{path}"
        if key not in self.providers:
            timeout = (self.settings.medium_llm_timeout if "medium_llm_timeout" in self.settings.model_fields_set
                       else LOCAL_TIMEOUT)
            self.providers[key] = self._wrap(key, local.LocalLLM(local.LocalServer(paths, path), timeout=timeout))
        name = install.model_label(path)
        return self.providers[key], name, f"local:{name}"

    def _row(self, row: ModelRow) -> tuple[LLM, str, str]:
        key = f"row:{row.name}"
        if key not in self.providers:
            if row.provider == "scripted":
                return self.resolve_spec("scripted")
            api_key = self._row_key(row)
            timeout = self.settings.medium_llm_timeout
            inner: LLM
            if row.provider == "openai":
                inner = factory.build_openai(api_key=api_key or factory.PLACEHOLDER_API_KEY,
                                             base_url=row.base_url, timeout=timeout)
            elif row.provider == "anthropic":
                if not api_key and not row.base_url:
                    raise InvalidInput(f"model {row.name!r} has no API key", field="api_key")
                inner = factory.build_anthropic(api_key=api_key or factory.PLACEHOLDER_API_KEY,
                                                base_url=row.base_url, timeout=timeout)
            else:
                raise InvalidInput(f"model {row.name!r} has unknown provider {row.provider!r}")
            self.providers[key] = self._wrap(key, inner)
        return self.providers[key], row.model, f"{row.provider}:{row.model}"

    def _row_key(self, row: ModelRow) -> str | None:
        if not row.api_key_encrypted:
            return None
        secret = self.settings.medium_secret_key
        if secret is None:
            raise InvalidInput(f"model {row.name!r} has a stored key but MEDIUM_SECRET_KEY is not set",
                               field="MEDIUM_SECRET_KEY")
        api_key = keys.decrypt_key(secret.get_secret_value(), row.api_key_encrypted)
        keys.mask_everywhere(api_key)
        return api_key

    def resolve_spec(self, spec: str) -> tuple[LLM, str, str]:
        provider, model = factory.parse_model_spec(spec)
        if provider == "local":
            found = self._local(model)
            if found is not None:
                return found
            provider, model = "scripted", "scripted"
        label = {"scripted": LABEL, "canned": CANNED_LABEL}.get(provider, f"{provider}:{model}")
        return self.provider(provider), model, label

    def resolve(self, ref: str | None, *, role: str = "medium") -> tuple[LLM, str, str]:
        """(llm, model, label) for a model reference (see the module docstring)."""
        if ref and ref in self.rows:
            return self._row(self.rows[ref])
        if not ref:
            by_role = next((r for r in self.rows.values() if r.role == role), None)
            if by_role is not None:
                return self._row(by_role)
        return self.resolve_spec(ref or default_spec(self.settings))

    async def load_rows(self, store: Any) -> None:
        """Replace the known `models` rows with the store's (`store.runtime_models()`).

        A row that changed or disappeared has its provider closed and dropped, so the next
        call builds it from the new row (a rotated key takes effect at once)."""
        fresh = {r["name"]: ModelRow(**{k: r[k] for k in ModelRow.__dataclass_fields__})
                 for r in await store.runtime_models()}
        for name, old in self.rows.items():
            if fresh.get(name) != old and (gone := self.providers.pop(f"row:{name}", None)) is not None:
                await gone.aclose()
        self.rows = fresh
        self._loaded_at = time.monotonic()

    def invalidate_rows(self) -> None:
        """Read the rows again on the next `refresh` (after this process wrote them)."""
        self._loaded_at = None

    async def refresh(self, store: Any, *, max_age: float = ROWS_MAX_AGE) -> None:
        """`load_rows` when the rows are older than `max_age` seconds (cheap to call per synthesis)."""
        if self._loaded_at is None or time.monotonic() - self._loaded_at >= max_age:
            await self.load_rows(store)

    def medium(self, override: str | None = None) -> tuple[LLM, str, str]:
        return self.resolve(override)

    def soft(self) -> tuple[LLM, str, str]:
        return self.resolve(self.settings.medium_soft_llm, role="soft")

    def soft_timeout(self, llm: LLM) -> float:
        """The soft analysis deadline: one queued local call takes far longer than 5 s."""
        return LOCAL_SOFT_TIMEOUT if llm.provider == "local" else SOFT_TIMEOUT

    @property
    def label(self) -> str:
        return self.resolve(None)[2]

    def json_mode(self, llm: LLM) -> bool:
        """Structured output: every SDK provider and the local server; the scripted narrator
        answers in the text blocks."""
        return llm.provider in ("openai", "anthropic", "local")

    def snapshot(self) -> dict[str, Any]:
        return {name: p.snapshot() for name, p in self.providers.items()}

    async def aclose(self) -> None:
        for p in self.providers.values():
            await p.aclose()
