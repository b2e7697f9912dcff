"""Retry, timeout, limit and accounting wrappers around a fake inner LLM."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from synthesis.errors import LLMError, LLMTimeout, LLMTransientError
from synthesis.llm.base import LLM, Completion, Message, Usage
from synthesis.llm.wrappers import AccountingLLM, LimitLLM, RetryLLM, TimeoutLLM, wrap

MESSAGES: list[Message] = [{"role": "user", "content": "hello"}]

Step = Callable[[int], Awaitable[Completion]]


class FakeLLM:
    """Runs `behaviour(call_number)` for each call and observes its own concurrency."""

    provider = "fake"

    def __init__(self, behaviour: Step | None = None) -> None:
        self.behaviour = behaviour
        self.calls = 0
        self.concurrent = 0
        self.max_concurrent = 0
        self.cancelled = 0
        self.closed = False
        self.seen: list[dict[str, Any]] = []

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 1024,
        temperature: float = 0.8,
    ) -> Completion:
        self.calls += 1
        call = self.calls
        self.seen.append(
            {
                "model": model,
                "json_schema": json_schema,
                "max_tokens": max_tokens,
                "temperature": temperature,
            }
        )
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            if self.behaviour is not None:
                return await self.behaviour(call)
            return ok(call)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.concurrent -= 1

    async def aclose(self) -> None:
        self.closed = True


def ok(call: int = 1, prompt: int = 10, completion: int = 5) -> Completion:
    return Completion(f"reply {call}", Usage(prompt, completion), "m", "fake")


def failing_then_ok(errors: list[Exception]) -> Step:
    async def step(call: int) -> Completion:
        if call <= len(errors):
            raise errors[call - 1]
        return ok(call)

    return step


class SleepRecorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_wrappers_satisfy_the_protocol_and_keep_the_provider() -> None:
    inner = FakeLLM()
    for wrapper in (
        RetryLLM(inner),
        TimeoutLLM(inner, 1.0),
        LimitLLM(inner, 2),
        AccountingLLM(inner),
        wrap(inner, timeout=1.0, concurrency=2),
    ):
        assert isinstance(wrapper, LLM)
        assert wrapper.provider == "fake"


async def test_arguments_pass_through_unchanged() -> None:
    inner = FakeLLM()
    llm = wrap(inner, timeout=1.0, concurrency=2)
    schema = {"type": "object"}

    await llm.complete(MESSAGES, model="x", json_schema=schema, max_tokens=7, temperature=0.1)

    assert inner.seen == [
        {"model": "x", "json_schema": schema, "max_tokens": 7, "temperature": 0.1}
    ]


# LimitLLM -------------------------------------------------------------------------------------


async def test_limit_never_exceeds_the_limit_under_load() -> None:
    async def busy(call: int) -> Completion:
        for _ in range(5):  # yield repeatedly so other callers try to get in
            await asyncio.sleep(0)
        return ok(call)

    inner = FakeLLM(busy)
    llm = LimitLLM(inner, 3)

    results = await asyncio.gather(*(llm.complete(MESSAGES, model="m") for _ in range(20)))

    assert len(results) == 20
    assert inner.calls == 20
    assert inner.max_concurrent == 3  # observed independently of the wrapper's own counter
    assert llm.peak_in_flight == 3
    assert llm.in_flight == 0


async def test_limit_releases_the_slot_on_error() -> None:
    async def boom(call: int) -> Completion:
        raise LLMError("nope")

    llm = LimitLLM(FakeLLM(boom), 1)

    for _ in range(3):  # would deadlock on the second call if the slot leaked
        with pytest.raises(LLMError):
            await asyncio.wait_for(llm.complete(MESSAGES, model="m"), timeout=1.0)
    assert llm.in_flight == 0


# TimeoutLLM -----------------------------------------------------------------------------------


async def test_timeout_raises_llm_timeout_and_cancels_the_inner_call() -> None:
    async def hang(call: int) -> Completion:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    inner = FakeLLM(hang)

    with pytest.raises(LLMTimeout, match="exceeded"):
        await TimeoutLLM(inner, 0.05).complete(MESSAGES, model="m")
    assert inner.cancelled == 1


async def test_timeout_lets_fast_calls_and_their_errors_through() -> None:
    llm = TimeoutLLM(FakeLLM(failing_then_ok([LLMError("bad request")])), 5.0)

    with pytest.raises(LLMError) as caught:
        await llm.complete(MESSAGES, model="m")
    assert not isinstance(caught.value, LLMTimeout)
    assert (await llm.complete(MESSAGES, model="m")).text == "reply 2"


# RetryLLM -------------------------------------------------------------------------------------


async def test_retry_does_not_retry_plain_llm_error() -> None:
    inner = FakeLLM(failing_then_ok([LLMError("bad request")]))
    sleep = SleepRecorder()

    with pytest.raises(LLMError):
        await RetryLLM(inner, sleep=sleep).complete(MESSAGES, model="m")

    assert inner.calls == 1
    assert sleep.waits == []


async def test_retry_recovers_from_transient_errors_and_timeouts() -> None:
    inner = FakeLLM(failing_then_ok([LLMTransientError("503"), LLMTimeout("slow")]))
    sleep = SleepRecorder()
    llm = RetryLLM(inner, attempts=4, sleep=sleep)

    out = await llm.complete(MESSAGES, model="m")

    assert out.text == "reply 3"
    assert inner.calls == 3
    assert len(sleep.waits) == 2
    assert llm.retries == 2


async def test_retry_gives_up_after_attempts_and_reraises_the_last_error() -> None:
    errors: list[Exception] = [LLMTransientError(f"fail {i}") for i in range(1, 6)]
    inner = FakeLLM(failing_then_ok(errors))
    sleep = SleepRecorder()

    with pytest.raises(LLMTransientError, match="fail 4"):
        await RetryLLM(inner, attempts=4, sleep=sleep).complete(MESSAGES, model="m")

    assert inner.calls == 4
    assert len(sleep.waits) == 3


async def test_retry_backoff_is_jittered_and_bounded() -> None:
    errors: list[Exception] = [LLMTransientError("x") for _ in range(8)]
    sleep = SleepRecorder()

    with pytest.raises(LLMTransientError):
        await RetryLLM(
            FakeLLM(failing_then_ok(errors)), attempts=8, initial=0.5, max_wait=2.0, sleep=sleep
        ).complete(MESSAGES, model="m")

    assert len(sleep.waits) == 7
    for n, wait in enumerate(sleep.waits):  # the window doubles per retry: 0.5, 1, 2, 2, ...
        assert 0.0 <= wait <= min(2.0, 0.5 * 2**n)
    assert len(set(sleep.waits)) > 1  # jitter, not a fixed schedule


async def test_retry_after_hint_is_honoured_but_capped() -> None:
    errors: list[Exception] = [
        LLMTransientError("429", retry_after=1.5),
        LLMTransientError("429", retry_after=60.0),
    ]
    sleep = SleepRecorder()

    await RetryLLM(
        FakeLLM(failing_then_ok(errors)), initial=0.01, max_wait=4.0, sleep=sleep
    ).complete(MESSAGES, model="m")

    assert sleep.waits == [1.5, 4.0]


def test_retry_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryLLM(FakeLLM(), attempts=0)


# AccountingLLM --------------------------------------------------------------------------------


async def test_accounting_counts_calls_errors_tokens_per_model() -> None:
    async def step(call: int) -> Completion:
        if call == 2:
            raise LLMTransientError("503")
        return ok(call, prompt=10 * call, completion=call)

    ticks = iter(range(100))
    llm = AccountingLLM(FakeLLM(step), timer=lambda: float(next(ticks)))

    await llm.complete(MESSAGES, model="soft")
    with pytest.raises(LLMTransientError):
        await llm.complete(MESSAGES, model="medium")
    await llm.complete(MESSAGES, model="medium")

    assert (llm.calls, llm.errors) == (3, 1)
    assert (llm.prompt_tokens, llm.completion_tokens) == (10 + 30, 1 + 3)
    snap = llm.snapshot()
    assert snap["provider"] == "fake"
    assert snap["total_tokens"] == 44
    assert snap["models"] == {
        "medium": {"calls": 2, "errors": 1, "prompt_tokens": 30, "completion_tokens": 3, "cached_tokens": 0},
        "soft": {"calls": 1, "errors": 0, "prompt_tokens": 10, "completion_tokens": 1, "cached_tokens": 0},
    }
    # The fake timer advances by 1 per reading, so every call (error included) took 1s.
    assert list(llm.latencies) == [1.0, 1.0, 1.0]
    assert snap["latency"] == {"count": 3, "mean": 1.0, "p50": 1.0, "p95": 1.0, "max": 1.0}


def test_latency_summary_percentiles() -> None:
    llm = AccountingLLM(FakeLLM())
    assert llm.latency_summary()["count"] == 0
    llm.latencies.extend(float(i) for i in range(1, 101))

    summary = llm.latency_summary()

    assert (summary["p50"], summary["p95"], summary["max"]) == (50.0, 95.0, 100.0)
    assert summary["mean"] == pytest.approx(50.5)


# wrap -----------------------------------------------------------------------------------------


async def test_wrap_retries_a_timed_out_attempt_and_counts_one_call() -> None:
    async def first_hangs(call: int) -> Completion:
        if call == 1:
            await asyncio.Event().wait()
        return ok(call)

    inner = FakeLLM(first_hangs)
    llm = wrap(inner, timeout=0.05, concurrency=2, attempts=2, sleep=SleepRecorder())

    out = await llm.complete(MESSAGES, model="m")

    assert out.text == "reply 2"
    assert inner.calls == 2
    assert inner.cancelled == 1
    assert (llm.calls, llm.errors) == (1, 0)


async def test_wrap_does_not_charge_queueing_to_the_timeout() -> None:
    # Each call takes 0.3s against a 0.5s timeout, one at a time. The second waits ~0.3s for
    # the slot; had the timeout also covered the queue it would have expired at 0.5s.
    async def slow(call: int) -> Completion:
        await asyncio.sleep(0.3)
        return ok(call)

    inner = FakeLLM(slow)
    llm = wrap(inner, timeout=0.5, concurrency=1, attempts=1)

    results = await asyncio.gather(*(llm.complete(MESSAGES, model="m") for _ in range(2)))

    assert [r.text for r in results] == ["reply 1", "reply 2"]
    assert inner.max_concurrent == 1


async def test_aclose_reaches_the_inner_llm() -> None:
    inner = FakeLLM()
    await wrap(inner, timeout=1.0, concurrency=1).aclose()
    assert inner.closed
