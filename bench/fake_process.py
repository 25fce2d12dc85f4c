"""The fake Messages server in a process of its own, as the real API is.

In the bench's own process, the server's threads need the same GIL as what is measured: while
an engine's loop is busy with a burst, a request that has left the client waits for the server
thread to get the interpreter before it is stamped, so a busy client looks late in reaching the
API even when its bytes were on the socket. A real API is in another process (on another host),
so the burst figures stamp requests in one: :class:`FakeServerProcess` starts
:class:`tests.fake_anthropic.FakeAnthropicServer` (empty script: every request gets the default
short stream) in a child process and asks it over a pipe for what it received.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["FakeServerProcess", "Received"]


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the server took it: its first user text and when (``time.time()``)."""

    prompt: str
    received_at: float


def _prompt(messages: list[dict[str, Any]]) -> str:
    try:
        content = messages[0]["content"]
    except (IndexError, KeyError, TypeError):
        return ""
    if isinstance(content, list):
        return " ".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return str(content)


def _serve(conn: Connection) -> None:
    from tests.fake_anthropic import FakeAnthropicServer

    server = FakeAnthropicServer()
    server.start()
    conn.send(server.base_url)
    try:
        while True:
            command = conn.recv()
            if command == "stop":
                break
            start = int(command)  # "requests since index N"
            got = list(server.requests)[start:]
            conn.send([(_prompt(r.messages), r.received_at) for r in got])
    finally:
        server.stop()
        conn.send("stopped")


class FakeServerProcess:
    """Start with ``start()``; ``base_url``; ``received()`` lists every request so far."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._seen: list[Received] = []
        self.base_url = ""

    def start(self) -> None:
        self._process.start()
        self.base_url = self._conn.recv()

    def received(self) -> list[Received]:
        """Every request the server has taken, oldest first."""
        self._conn.send(str(len(self._seen)))
        self._seen.extend(Received(p, t) for p, t in self._conn.recv())
        return list(self._seen)

    def stop(self) -> None:
        if self._process.is_alive():
            self._conn.send("stop")
            self._conn.recv()
        self._process.join(10)
