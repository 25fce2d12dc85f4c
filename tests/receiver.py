"""A small HTTP receiver on 127.0.0.1 for notification tests: records what is POSTed.

Apprise's ``json://127.0.0.1:PORT/path`` delivers here for real. Set :attr:`Receiver.mode` to
make it answer ``"ok"`` (200), ``"error"`` (500) or ``"hang"`` (read the request, never answer
until closed), to see how the sender copes with a broken or dead service.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["ok", "error", "hang"]


@dataclass(frozen=True)
class Received:
    """One request as it arrived: method, path (query included), headers, and JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Receiver:
    """The server, its records and its mode; use :func:`running_receiver` to start one."""

    def __init__(self) -> None:
        self.mode: Mode = "ok"
        self.received: list[Received] = []
        self.arrived = threading.Event()
        self.release = threading.Event()  # ends hanging requests when the receiver closes
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/hook", scheme: str = "json") -> str:
        """An Apprise URL delivering here, e.g. ``json://127.0.0.1:PORT/hook``."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and let hanging requests go."""
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                receiver.received.append(
                    Received("POST", self.path, dict(self.headers.items()), body)
                )
                receiver.arrived.set()
                if receiver.mode == "hang":
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                code = 200 if receiver.mode == "ok" else 500
                reply = b"{}" if code == 200 else b"boom"
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: pytest shows stderr of failing tests

        return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A started :class:`Receiver`, closed afterwards."""
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.close()
