"""The retry policy, with a recording sleep: no test here waits for real."""

from __future__ import annotations

import asyncio
import random

import pytest

from bassi_tui.executor.base import ExecutorError
from bassi_tui.executor.retry import backoff_delay, run_with_retries


class Recorder:
    """A fake sleep that records the delays it was asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class Script:
    """An attempt function that fails with the scripted errors, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls: list[int] = []

    async def __call__(self, n: int) -> str:
        self.calls.append(n)
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def transient(retry_after: float | None = None) -> ExecutorError:
    return ExecutorError("overloaded", transient=True, retry_after=retry_after)


async def test_success_at_once_makes_one_attempt_and_never_sleeps() -> None:
    attempt, sleep = Script(), Recorder()
    assert await run_with_retries(attempt, max_retries=3, base_delay=60, sleep=sleep) == "ok"
    assert attempt.calls == [1]
    assert sleep.delays == []


async def test_transient_errors_are_retried_with_growing_jittered_delays() -> None:
    attempt, sleep = Script(transient(), transient(), transient()), Recorder()
    result = await run_with_retries(
        attempt, max_retries=3, base_delay=10, sleep=sleep, rng=random.Random(1)
    )
    assert result == "ok"
    assert attempt.calls == [1, 2, 3, 4]
    assert len(sleep.delays) == 3
    for n, delay in enumerate(sleep.delays, start=1):
        nominal = 10 * 2 ** (n - 1)
        assert 0.5 * nominal <= delay <= 1.5 * nominal


async def test_jitter_varies_between_runs() -> None:
    delays = set()
    for seed in range(5):
        sleep = Recorder()
        await run_with_retries(
            Script(transient()), max_retries=1, base_delay=10, sleep=sleep, rng=random.Random(seed)
        )
        delays.add(sleep.delays[0])
    assert len(delays) == 5


async def test_exhausted_retries_raise_the_last_error_with_the_attempt_count() -> None:
    errors = [transient(), transient(), transient()]
    attempt, sleep = Script(*errors), Recorder()
    with pytest.raises(ExecutorError) as caught:
        await run_with_retries(attempt, max_retries=2, base_delay=1, sleep=sleep)
    assert caught.value is errors[2]
    assert caught.value.attempts == 3
    assert attempt.calls == [1, 2, 3]
    assert len(sleep.delays) == 2


async def test_permanent_errors_are_not_retried() -> None:
    error = ExecutorError("bad request", transient=False)
    attempt, sleep = Script(error), Recorder()
    with pytest.raises(ExecutorError) as caught:
        await run_with_retries(attempt, max_retries=3, base_delay=1, sleep=sleep)
    assert caught.value.attempts == 1
    assert attempt.calls == [1]
    assert sleep.delays == []


async def test_disabled_retries_make_a_single_attempt() -> None:
    attempt, sleep = Script(transient()), Recorder()
    with pytest.raises(ExecutorError):
        await run_with_retries(attempt, max_retries=3, base_delay=1, enabled=False, sleep=sleep)
    assert attempt.calls == [1]


async def test_other_exceptions_propagate_untouched() -> None:
    attempt, sleep = Script(KeyError("bug")), Recorder()
    with pytest.raises(KeyError):
        await run_with_retries(attempt, max_retries=3, base_delay=1, sleep=sleep)
    assert attempt.calls == [1]


async def test_the_servers_retry_after_is_never_undercut() -> None:
    sleep = Recorder()
    await run_with_retries(
        Script(transient(retry_after=100)), max_retries=1, base_delay=1, sleep=sleep
    )
    assert sleep.delays == [100]


async def test_a_short_retry_after_does_not_shorten_our_backoff() -> None:
    sleep = Recorder()
    await run_with_retries(
        Script(transient(retry_after=0.01)), max_retries=1, base_delay=10, sleep=sleep
    )
    assert 5 <= sleep.delays[0] <= 15


async def test_a_retry_after_beyond_max_delay_gives_up_instead_of_retrying_early() -> None:
    attempt, sleep = Script(transient(retry_after=3600)), Recorder()
    with pytest.raises(ExecutorError) as caught:
        await run_with_retries(attempt, max_retries=3, base_delay=1, sleep=sleep, max_delay=900)
    assert caught.value.attempts == 1
    assert sleep.delays == []


async def test_delays_are_capped_at_max_delay() -> None:
    attempt, sleep = Script(*[transient() for _ in range(6)]), Recorder()
    await run_with_retries(attempt, max_retries=6, base_delay=60, sleep=sleep, max_delay=300)
    assert max(sleep.delays) == 300
    assert all(delay <= 300 for delay in sleep.delays)


def test_backoff_survives_absurd_attempt_numbers() -> None:
    delay = backoff_delay(5000, transient(), base_delay=60, rng=random.Random(0), max_delay=900)
    assert delay == 900


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_on_retry_hears_each_retry_before_the_wait(asynchronous: bool) -> None:
    first, second = transient(), transient()
    heard: list[tuple[int, ExecutorError, float]] = []
    sleep = Recorder()

    def sync_hook(n: int, error: ExecutorError, delay: float) -> None:
        assert len(sleep.delays) == n - 1  # called before the sleep for this retry
        heard.append((n, error, delay))

    async def async_hook(n: int, error: ExecutorError, delay: float) -> None:
        sync_hook(n, error, delay)

    await run_with_retries(
        Script(first, second),
        max_retries=3,
        base_delay=1,
        sleep=sleep,
        on_retry=async_hook if asynchronous else sync_hook,
    )
    assert [(n, e) for n, e, _ in heard] == [(1, first), (2, second)]
    assert [d for _, _, d in heard] == sleep.delays


async def test_a_timeout_during_the_wait_cancels_the_retries() -> None:
    attempt = Script(transient(), transient())
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await run_with_retries(attempt, max_retries=3, base_delay=60)  # real sleep
    assert attempt.calls == [1]
