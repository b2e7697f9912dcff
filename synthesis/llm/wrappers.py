"""Cross-cutting LLM policy as wrappers that implement the same `LLM` protocol.

Each wrapper holds an inner `LLM`, exposes `provider = inner.provider`, and changes one thing:

* `RetryLLM`: retries `LLMTransientError` (timeouts included) with jittered backoff.
* `TimeoutLLM`: a hard wall-clock deadline on each call.
* `LimitLLM`: at most `limit` calls in flight.
* `AccountingLLM`: counts calls, errors, tokens and latency.

`wrap()` composes them in the order production uses. `aclose()` is forwarded to the inner
LLM when it has one, so closing the outermost wrapper closes the SDK client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import tenacity

from synthesis import stats, telemetry
from synthesis.errors import LLMTimeout, LLMTransientError
from synthesis.llm.base import LLM, Completion, Message

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


async def _aclose(inner: LLM) -> None:
    close = getattr(inner, "aclose", None)
    if close is not None:
        await close()


class RetryLLM:
    """Retry transient failures; give up after `attempts` tries in total.

    Only `LLMTransientError` (and so `LLMTimeout`) is retried; a plain `LLMError` (bad request,
    bad key, refusal) is raised at once, since repeating it cannot help. Waits use "full
    jitter" exponential backoff: before the n-th retry (n = 0, 1, ...) wait a uniform random
    time in [0, min(max_wait, initial * 2**n)], so many workers hitting the same 429 spread
    out instead of retrying in lockstep. A `retry_after` hint on the error (from a Retry-After
    header) raises the wait to at least that, capped at `max_wait`. The last error is
    re-raised unchanged. `sleep` is injectable for tests.
    """

    def __init__(
        self,
        inner: LLM,
        *,
        attempts: int = 4,
        initial: float = 0.5,
        max_wait: float = 8.0,
        sleep: Sleep | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.inner = inner
        self.provider = inner.provider
        self.attempts = attempts
        self.max_wait = max_wait
        self.retries = 0  # retries performed (attempts beyond the first), for metrics/tests
        self._backoff = tenacity.wait_random_exponential(multiplier=initial, max=max_wait)
        self._sleep: Sleep = sleep if sleep is not None else asyncio.sleep

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,
    ) -> Completion:
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(LLMTransientError),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(state, model),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self.inner.complete(
                    messages,
                    model=model,
                    json_schema=json_schema,
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _wait(self, state: tenacity.RetryCallState) -> float:
        wait = float(self._backoff(state))
        error = state.outcome.exception() if state.outcome is not None else None
        hint = getattr(error, "details", {}).get("retry_after")
        if isinstance(hint, int | float) and hint > wait:
            wait = min(float(hint), self.max_wait)
        return wait

    def _log_retry(self, state: tenacity.RetryCallState, model: str) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome is not None else None
        logger.info(
            "retrying LLM call",
            extra={
                "action": "llm_retry",
                "provider": self.provider,
                "model": model,
                "attempt": state.attempt_number,
                "wait_s": round(state.upcoming_sleep, 3),
                "error": type(error).__name__,
            },
        )

    async def aclose(self) -> None:
        await _aclose(self.inner)


class TimeoutLLM:
    """Fail with `LLMTimeout` when one call takes longer than `seconds` (wall clock).

    The SDK's own timeout bounds each network phase (connect, each read); this bounds the
    whole call, so a server trickling tokens cannot hold a worker indefinitely. The inner
    call is cancelled on expiry.
    """

    def __init__(self, inner: LLM, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("seconds must be > 0")
        self.inner = inner
        self.provider = inner.provider
        self.seconds = seconds

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,
    ) -> Completion:
        try:
            async with asyncio.timeout(self.seconds):
                return await self.inner.complete(
                    messages,
                    model=model,
                    json_schema=json_schema,
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
        except TimeoutError as exc:
            logger.warning(
                "LLM call exceeded deadline",
                extra={
                    "action": "llm_timeout",
                    "provider": self.provider,
                    "model": model,
                    "timeout_s": self.seconds,
                },
            )
            raise LLMTimeout(
                f"{self.provider} call exceeded {self.seconds:g}s", provider=self.provider
            ) from exc

    async def aclose(self) -> None:
        await _aclose(self.inner)


class LimitLLM:
    """At most `limit` concurrent calls to the inner LLM; further callers wait their turn.

    Share one instance per provider (one adapter serves every model of that provider), so
    the limit is per provider rather than per role. `in_flight` and `peak_in_flight` count
    calls holding a slot now and at most so far.
    """

    def __init__(self, inner: LLM, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.inner = inner
        self.provider = inner.provider
        self.limit = limit
        self.in_flight = 0
        self.peak_in_flight = 0
        self._semaphore = asyncio.Semaphore(limit)

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,
    ) -> Completion:
        async with self._semaphore:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                return await self.inner.complete(
                    messages,
                    model=model,
                    json_schema=json_schema,
                    max_tokens=max_tokens,
                    temperature=temperature,
                )
            finally:
                self.in_flight -= 1

    async def aclose(self) -> None:
        await _aclose(self.inner)


@dataclass
class ModelStats:
    """Totals for one model (the model requested, not the one the provider echoes back)."""

    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


class AccountingLLM:
    """Count calls, errors, tokens and latency, in total and per model.

    A call is one `complete()` on this wrapper; placed outermost (see `wrap`), one logical
    call including its retries. Errors are counted and re-raised. Latency is measured with
    `timer` (monotonic seconds) for successes and failures alike; the most recent
    `latency_window` samples are kept for the summary.
    """

    def __init__(
        self,
        inner: LLM,
        *,
        timer: Callable[[], float] = time.perf_counter,
        latency_window: int = 10_000,
    ) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.calls = 0
        self.errors = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cached_tokens = 0
        self.per_model: dict[str, ModelStats] = {}
        self.latencies: deque[float] = deque(maxlen=latency_window)
        self._timer = timer

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,
    ) -> Completion:
        stats = self.per_model.setdefault(model, ModelStats())
        self.calls += 1
        stats.calls += 1
        telemetry.LLM_CALLS.labels(self.provider).inc()
        started = self._timer()
        try:
            completion = await self.inner.complete(
                messages,
                model=model,
                json_schema=json_schema,
                max_tokens=max_tokens,
                temperature=temperature,
            )
        except Exception:  # cancellation is not an LLM error
            self.errors += 1
            stats.errors += 1
            telemetry.LLM_ERRORS.labels(self.provider).inc()
            raise
        finally:
            took = self._timer() - started
            self.latencies.append(took)
            telemetry.LLM_SECONDS.labels(self.provider).observe(took)
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens
        self.cached_tokens += completion.usage.cached_tokens
        stats.cached_tokens += completion.usage.cached_tokens
        stats.prompt_tokens += completion.usage.prompt_tokens
        stats.completion_tokens += completion.usage.completion_tokens
        return completion

    def latency_summary(self) -> dict[str, float]:
        """count, mean, p50, p95 and max in seconds over the kept samples (zeros when empty)."""
        samples = sorted(self.latencies)
        if not samples:
            return {"count": 0, "mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0}
        return {
            "count": len(samples),
            "mean": sum(samples) / len(samples),
            "p50": stats.nearest_rank(samples, 0.50),
            "p95": stats.nearest_rank(samples, 0.95),
            "max": samples[-1],
        }

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter (safe to log or serve)."""
        return {
            "provider": self.provider,
            "calls": self.calls,
            "errors": self.errors,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "models": {
                model: {
                    "calls": s.calls,
                    "errors": s.errors,
                    "prompt_tokens": s.prompt_tokens,
                    "completion_tokens": s.completion_tokens,
                    "cached_tokens": s.cached_tokens,
                }
                for model, s in sorted(self.per_model.items())
            },
            "latency": self.latency_summary(),
        }

    async def aclose(self) -> None:
        await _aclose(self.inner)


def wrap(
    inner: LLM,
    *,
    timeout: float,
    concurrency: int,
    attempts: int = 4,
    sleep: Sleep | None = None,
) -> AccountingLLM:
    """The production stack: Accounting(Retry(Limit(Timeout(inner)))).

    Outside in:

    1. Accounting sees one logical call: its latency is what the caller waited, retries
       included, and an error counts once, when the caller actually gets it.
    2. Retry is outside the limit, so a call backing off after a 429 gives its slot to
       another caller instead of holding it while asleep.
    3. Limit is outside the timeout, so time spent queueing for a slot is not charged to the
       provider: a busy local queue must not look like a slow provider, time out, and be
       retried into the back of the same queue.
    4. Timeout is innermost, a deadline on exactly one provider attempt, whose expiry is an
       `LLMTimeout` that Retry then retries.

    Call `wrap` once per provider and share the result between roles, so `concurrency` is a
    per-provider limit.
    """
    limited = LimitLLM(TimeoutLLM(inner, timeout), concurrency)
    return AccountingLLM(RetryLLM(limited, attempts=attempts, sleep=sleep))
