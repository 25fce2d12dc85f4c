"""Stopping a child that runs in its own process group, whatever it started.

Commands (the command executor, ``expect.command``, ``when.command``) are started with
``start_new_session=True``, so the child leads a process group of its own and everything it
starts belongs to that group. Stopping it means the whole group, not just the child: a shell
script's ``sleep`` or a forgotten background job must not outlive a timeout or a cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

__all__ = ["KILL_GRACE", "signal_group", "stop_group"]

#: Seconds between SIGTERM and SIGKILL (and for reaping the leader afterwards).
KILL_GRACE = 2.0


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to process group ``pgid``; nothing if it is gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def stop_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the group ``proc`` leads, SIGKILL it after :data:`KILL_GRACE`, reap the leader.

    The SIGKILL is sent even if this coroutine is itself cancelled while waiting, since a
    second cancel (app shutdown during a timeout) must not leave the group alive.
    """
    pgid = proc.pid  # start_new_session made the child the leader of its own group
    signal_group(pgid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), KILL_GRACE)
    except (TimeoutError, asyncio.CancelledError):
        pass
    finally:
        # Always: the leader may have exited on SIGTERM while a grandchild ignores it.
        signal_group(pgid, signal.SIGKILL)
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(proc.wait(), KILL_GRACE)
