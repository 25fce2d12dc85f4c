"""Retrying transient failures with exponential backoff, jitter and the server's retry-after.

The policy, in full:

- ``attempt(1)``, ``attempt(2)``, ... are awaited in turn until one returns. Only an
  :class:`ExecutorError` with ``transient=True`` is retried; a permanent error, any other
  exception and cancellation (a timeout) propagate at once, untouched.
- At most ``max_retries`` extra attempts are made, none when ``enabled`` is False (config.yaml's
  ``retry_on_failure``).
- After attempt *n* fails, the wait is ``base_delay * 2**(n-1)`` times a random factor in
  0.5..1.5 (jitter, so tasks that failed together do not retry together), capped at
  ``max_delay``.
- If the error carries ``retry_after`` (the server's ``retry-after`` header), the wait is
  ``max(retry_after, computed)``: we never retry sooner than the server asked. When the server
  asks for more than ``max_delay``, we do not retry at all and raise the error instead:
  retrying early would only be refused again, and the user learns at once that the API said
  "come back much later" rather than after a long silent wait.

Attempt counting: the successful attempt's number is the last ``n`` passed to ``attempt``; when
the retries are exhausted (or not allowed) the final error is raised with ``error.attempts``
set to the number of attempts made.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bassi_tui.executor.base import ExecutorError

__all__ = ["backoff_delay", "run_with_retries"]

T = TypeVar("T")

OnRetry = Callable[[int, ExecutorError, float], Awaitable[None] | None]
"""Called as ``on_retry(failed_attempt, error, delay)`` before each wait; sync or async."""


def backoff_delay(
    failed_attempt: int,
    error: ExecutorError,
    *,
    base_delay: float,
    rng: random.Random,
    max_delay: float = 900.0,
) -> float | None:
    """The wait before the attempt after ``failed_attempt``, or None if we must not retry.

    None means the server's ``retry_after`` is longer than ``max_delay``.
    """
    computed = max(0.0, base_delay) * 2.0 ** min(failed_attempt - 1, 60) * rng.uniform(0.5, 1.5)
    computed = min(computed, max_delay)
    if error.retry_after is None:
        return computed
    if error.retry_after > max_delay:
        return None
    return max(error.retry_after, computed)


async def run_with_retries(
    attempt: Callable[[int], Awaitable[T]],
    *,
    max_retries: int,
    base_delay: float,
    enabled: bool = True,
    on_retry: OnRetry | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
    max_delay: float = 900.0,
) -> T:
    """Await ``attempt(n)`` until it succeeds or the retry policy (module docstring) gives up.

    ``sleep`` and ``rng`` are injectable so tests can record the waits without waiting.
    """
    rng = rng if rng is not None else random.Random()
    extra = max(0, max_retries) if enabled else 0
    number = 1
    while True:
        try:
            return await attempt(number)
        except ExecutorError as error:
            error.attempts = number
            if not error.transient or number > extra:
                raise
            delay = backoff_delay(
                number, error, base_delay=base_delay, rng=rng, max_delay=max_delay
            )
            if delay is None:
                raise
            if on_retry is not None:
                maybe = on_retry(number, error, delay)
                if inspect.isawaitable(maybe):
                    await maybe
            await sleep(delay)
        number += 1
