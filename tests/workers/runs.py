"""Requests for the workers' tests, and an ``on_text`` that remembers what came and when."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bassi_tui.executor.base import RunRequest
from bassi_tui.store.models import TaskConfig

#: Hang guard for one remote attempt in a test; not a performance check.
RUN_S = 30.0


def fresh_run_id(what: str) -> str:
    return f"{what}@{uuid.uuid4().hex}"


def echo_request(prompt: str, run_id: str | None = None, **config: Any) -> RunRequest:
    return RunRequest(
        "echo-task",
        prompt,
        TaskConfig(executor="echo", **config),
        run_id=run_id or fresh_run_id("echo"),
    )


def command_request(script: str, run_id: str | None = None, **config: Any) -> RunRequest:
    """A ``command`` run of ``sh -c SCRIPT`` (the prompt goes to its stdin, unread)."""
    return RunRequest(
        "command-task",
        "prompt\n",
        TaskConfig(executor="command", command=("sh", "-c", script), **config),
        run_id=run_id or fresh_run_id("command"),
    )


#: Prints its process group (sh's pid: the command executor starts it as a session leader),
#: then sleeps long: for the stop and loss tests.
PID_THEN_SLEEP = "echo pid=$$; sleep 60"
#: The same, deaf to SIGTERM (only SIGKILL ends it).
DEAF_PID_THEN_SLEEP = "trap '' TERM; echo pid=$$; sleep 60 & wait"


@dataclass
class Collector:
    """An ``on_text`` that keeps each chunk with the time it came."""

    chunks: list[tuple[float, str]] = field(default_factory=list)
    first: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, text: str) -> None:
        self.chunks.append((time.monotonic(), text))
        self.first.set()

    @property
    def text(self) -> str:
        return "".join(chunk for _, chunk in self.chunks)

    async def wait_first(self, timeout: float = RUN_S) -> None:
        await asyncio.wait_for(self.first.wait(), timeout)

    async def pgid(self, timeout: float = RUN_S) -> int:
        """The ``pid=N`` the command printed."""
        deadline = time.monotonic() + timeout
        while (found := re.search(r"pid=(\d+)", self.text)) is None:
            assert time.monotonic() < deadline, f"no pid in {self.text!r}"
            await asyncio.sleep(0.02)
        return int(found.group(1))


async def until(predicate: Any, timeout: float = RUN_S, what: str = "condition") -> None:
    """Look every 50 ms until ``predicate()`` holds; fail after ``timeout`` (a hang guard)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
