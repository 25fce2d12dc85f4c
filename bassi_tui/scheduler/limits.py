"""bassi.yaml ``max_concurrent``: at most N runs at once across every task.

Runs beyond the limit wait at the gate in the order they were due, higher ``priority`` first,
and start as runs end. Written by hand because the order is the point: ``asyncio.Semaphore``
wakes waiters first come first served and knows no priority; a heap of futures is a dozen
lines. Overlap rules still apply per task before a run reaches the gate (a waiting run counts
as in flight for its task). A waiting run that is cancelled (the engine stops, a person
cancels it) leaves the queue without taking a place.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["RunGate"]


@dataclass(order=True)
class _Waiter:
    key: tuple[int, float, int]
    future: asyncio.Future[None] = field(compare=False)


class RunGate:
    """Lets at most ``limit`` runs through at once (None: no limit)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.active = 0
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        """Runs waiting for a place now."""
        return sum(1 for w in self._waiting if not w.future.done())

    def has_room(self) -> bool:
        """True when a run entering now goes through at once."""
        return self._free() and not self.waiting

    def set_limit(self, limit: int | None) -> None:
        """A new limit (bassi.yaml changed): a higher one lets waiting runs in at once."""
        self.limit = limit
        self._admit()

    async def enter(self, priority: int, due: datetime) -> None:
        """Wait for a place: runs due earlier, and higher priorities, go first."""
        if self.has_room():
            self.active += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = (-priority, due.timestamp(), next(self._order))
        heapq.heappush(self._waiting, _Waiter(key, future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.leave()  # admitted at the very moment it was cancelled: give it back
            raise

    def leave(self) -> None:
        """A run that went through has ended: the next waiting one may start."""
        self.active -= 1
        self._admit()

    def _free(self) -> bool:
        return self.limit is None or self.active < self.limit

    def _admit(self) -> None:
        while self._waiting and self._free():
            waiter = heapq.heappop(self._waiting)
            if not waiter.future.done():
                self.active += 1
                waiter.future.set_result(None)
