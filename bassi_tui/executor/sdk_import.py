"""Importing the Anthropic SDK off the event loop, once, by one thread at a time.

``import anthropic`` takes about two seconds, so it happens in a worker thread: in the background
at start-up (:func:`bassi_tui.executor.runners.warm_up`) and, failing that, at a run's first
attempt. Two threads importing it at once are not safe: the SDK's package imports in a cycle,
and Python's import locks then hand one thread a partially initialised module ("cannot import
name 'ApiCall' from partially initialized module 'anthropic._tracing'"). And a module's presence
in ``sys.modules`` does not mean it is ready. So every import of the SDK goes through one lock
here, and only a module imported whole through it counts as done.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Iterable

__all__ = ["ensure_imported", "import_modules"]

_lock = threading.Lock()
_done: set[str] = set()


def import_modules(names: Iterable[str]) -> list[str]:
    """Import ``names`` in order under the one lock (blocking); the ones imported just now."""
    wanted = [name for name in names if name not in _done]
    imported: list[str] = []
    if not wanted:
        return imported
    with _lock:
        for name in wanted:
            if name not in _done:
                importlib.import_module(name)
                _done.add(name)
                imported.append(name)
    return imported


async def ensure_imported(names: Iterable[str]) -> None:
    """Make sure ``names`` are imported whole, importing them in a worker thread if need be."""
    wanted = [name for name in names if name not in _done]
    if wanted:
        await asyncio.to_thread(import_modules, wanted)
