"""The worker's side of an attempt's output: text chunks batched into a Redis Stream.

Hand-written because RQ has no way to send anything back before a job ends (its result is the
function's return value). A stream (not pub/sub) because a reader that comes late, or comes
back after a restart, reads it from the start; entries are ordered, and the last one, ``end``,
carries the outcome, so a reader knows the attempt is over without asking RQ.

Runners call ``on_text`` per token: one XADD per token would cost a round trip each. Text is
gathered and sent when :data:`FLUSH_EVERY` seconds have passed since the first unsent chunk, or
at once when :data:`MAX_BATCH` characters are waiting. The stream is capped at about
:data:`~bassi_tui.workers.keys.STREAM_MAXLEN` entries (a reader that falls that far behind
misses the oldest) and expires :data:`~bassi_tui.workers.keys.RESULT_TTL` after the last write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from bassi_tui.workers.keys import RESULT_TTL, STREAM_MAXLEN

if TYPE_CHECKING:
    import redis.asyncio as aredis

__all__ = ["FLUSH_EVERY", "MAX_BATCH", "OutputStream"]

#: Seconds an unsent chunk may wait for company.
FLUSH_EVERY = 0.05
#: Characters that are sent at once, without waiting.
MAX_BATCH = 16 * 1024


class OutputStream:
    """Appends an attempt's text to its stream, in order, batched; then its outcome."""

    def __init__(self, client: aredis.Redis, key: str) -> None:
        self._client = client
        self._key = key
        self._pending: list[str] = []
        self._size = 0
        self._lock = asyncio.Lock()  # one XADD at a time keeps the entries in order
        self._timer: asyncio.Task[None] | None = None
        #: A failed background send (Redis gone): raised by the next write, so the run fails.
        self._error: Exception | None = None

    async def write(self, text: str) -> None:
        """A runner's ``on_text``: queue ``text``; send now if enough is waiting."""
        if self._error is not None:
            raise self._error
        if not text:
            return
        self._pending.append(text)
        self._size += len(text)
        if self._size >= MAX_BATCH:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(FLUSH_EVERY)
        self._timer = None
        try:
            await self.flush()
        except Exception as exc:
            self._error = exc

    async def flush(self) -> None:
        """Send what is waiting, as one entry."""
        async with self._lock:
            if not self._pending:
                return
            text = "".join(self._pending)
            self._pending.clear()
            self._size = 0
            await self._add({"t": text})

    async def begin(self, worker: str) -> None:
        """The first entry: which worker runs the attempt (``name@host``)."""
        async with self._lock:
            await self._add({"w": worker})

    async def finish(self, outcome: dict[str, Any]) -> None:
        """Send the rest of the text, then the ``end`` entry with the attempt's outcome."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self.flush()
        async with self._lock:
            await self._add({"end": json.dumps(outcome)})

    async def _add(self, fields: dict[str, str]) -> None:
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.xadd(self._key, fields, maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
            pipe.expire(self._key, RESULT_TTL)
            await pipe.execute()
