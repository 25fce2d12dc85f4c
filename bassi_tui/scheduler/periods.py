"""Cards that change with the calendar alone: at a new day or month (local time), a budget that
held a task's fires is lifted and "this month's cost" starts again at nothing.

Nothing else would redraw those cards: views are made again when a task's files or runs change,
and a task held by its budget has no run until its next fire. So the engine looks every
:data:`PERIOD_CHECK_S` whether the day has turned, by its own clock (a suspend, a clock set and
a test's clock are all met), and calls ``turned`` when it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from bassi_tui.store.spend import periods

__all__ = ["PERIOD_CHECK_S", "watch_periods"]

#: How often the engine looks whether the day has turned (a compare of two dates).
PERIOD_CHECK_S = 30.0


async def watch_periods(clock: Callable[[], datetime], turned: Callable[[], None]) -> None:
    """Forever: call ``turned`` at each new local day (a new month is a new day too)."""
    seen = periods(clock())
    while True:
        await asyncio.sleep(PERIOD_CHECK_S)
        now = periods(clock())
        if now != seen:
            seen = now
            turned()
