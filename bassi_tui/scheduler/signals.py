"""Stop signals (SIGHUP, SIGTERM, SIGINT) turned into a call on the event loop.

The app, ``--headless`` and ``bassi-tui run`` all stop the same way on any of them: runs in flight
are recorded as interrupted (their real duration, their partial output), command process groups
are killed, the terminal is restored, and the process exits within a few seconds. SIGHUP is
what a dropped SSH connection sends: without a handler the process dies on the spot and its runs
stay "running" until the next start.

Handlers are installed with :func:`signal.signal`, not ``loop.add_signal_handler``: the latter
reports a signal by writing to the loop's wakeup fd, and under load (hundreds of fires a second)
that pipe can be full, the write fails ("Exception ignored when trying to write to the signal
wakeup fd: BlockingIOError") and the signal is lost. A Python-level handler always runs in the
main thread, and ``call_soon_threadsafe`` queues its callback even when the loop's own wake-up
byte cannot be written.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType

__all__ = ["STOP_SIGNALS", "exit_code", "on_stop_signals", "signal_name"]

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by ``signum``: 128 + its number."""
    return 128 + signum


def on_stop_signals(
    callback: Callable[[int], None],
    *,
    loop: asyncio.AbstractEventLoop | None = None,
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> Callable[[], None]:
    """Call ``callback(signum)`` on ``loop`` (the running one) when a stop signal arrives.

    Must be called from the main thread. Returns a function that puts the previous handlers
    back.
    """
    target = loop if loop is not None else asyncio.get_running_loop()
    previous: dict[signal.Signals, object] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        if not target.is_closed():
            target.call_soon_threadsafe(callback, signum)

    for sig in signals:
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]

    return restore
