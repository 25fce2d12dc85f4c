"""A small but real fake of the Anthropic Messages API, on 127.0.0.1, for the real SDK to talk to.

It runs a stdlib HTTP server in background threads, so it works under any test event loop.
Streams are sent the way the API sends them: ``text/event-stream`` in chunked transfer encoding,
with message_start, content_block_start, ping, content_block_delta x N, content_block_stop,
message_delta and message_stop. Chunked encoding matters: it is what lets the client tell a
dropped stream (no terminating chunk) from a finished one.

Script it with ``server.enqueue(Stream([...]), Status(529), ...)``; each request takes the next
behaviour, and an empty queue answers with :data:`DEFAULT_STREAM`. Every response closes its
connection, so no idle keep-alive socket holds a handler thread when the server stops.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FAKE_KEY = "sk-ant-test-not-a-real-key"


@dataclass(frozen=True)
class Stream:
    """A successful streamed answer made of ``chunks``, ``delay`` seconds apart."""

    chunks: list[str]
    delay: float = 0.0
    input_tokens: int = 21
    output_tokens: int | None = None  # None: one per chunk
    stop_reason: str = "end_turn"


@dataclass(frozen=True)
class Status:
    """An HTTP error answer with the API's JSON error body and optional ``retry-after``."""

    code: int
    error_type: str | None = None  # None: the API's type for ``code``
    message: str = "fake error"
    retry_after: float | None = None
    error_code: str | None = None  # sent as error.details.error_code, as the API does


@dataclass
class Hang:
    """Accept the request, then send nothing until :meth:`release` or the server stops."""

    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let the handler go; it closes the connection without answering."""
        self.released.set()


@dataclass(frozen=True)
class Drop:
    """Start a stream, send ``after_chunks`` text deltas, then close the socket mid-body."""

    after_chunks: int = 1


@dataclass(frozen=True)
class SseError:
    """Start a stream, send ``after_chunks`` deltas, then an SSE ``error`` event (status 200)."""

    after_chunks: int = 1
    error_type: str = "overloaded_error"
    message: str = "Overloaded"


Behaviour = Stream | Status | Hang | Drop | SseError
DEFAULT_STREAM = Stream(["Hello", ", ", "world", "!"])
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def api_key(self) -> str | None:
        """The key the client sent, as ``x-api-key`` or ``Authorization: Bearer``."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


class FakeAnthropicServer:
    """The server; see the module docstring. ``start()``/``stop()`` or use it as a fixture."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._counter = 0
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self.port: int = self._httpd.server_address[1]
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever,
            args=(0.05,),  # poll interval: how long stop() waits for the accept loop
            name="fake-anthropic-serve",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """What ANTHROPIC_BASE_URL should be."""
        return f"http://127.0.0.1:{self.port}"

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Script the next requests' answers, in order."""
        with self._lock:
            self._queue.extend(behaviours)

    def start(self) -> None:
        """Serve in background threads."""
        self._serve_thread.start()

    def stop(self) -> None:
        """Stop serving, release hangs and join every thread this server started."""
        self._stopping.set()
        if self._serve_thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        self._serve_thread.join(5)
        for thread in list(self._threads):
            thread.join(5)

    def threads_alive(self) -> list[threading.Thread]:
        """The server's threads still running (empty after a clean stop)."""
        return [t for t in [self._serve_thread, *self._threads] if t.is_alive()]

    # -- used by the handler threads -------------------------------------------------------
    def _next(self, request: RecordedRequest) -> tuple[Behaviour, int]:
        with self._lock:
            self.requests.append(request)
            self._counter += 1
            return (self._queue.popleft() if self._queue else DEFAULT_STREAM), self._counter


class _Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], handler: type, owner: FakeAnthropicServer):
        super().__init__(address, handler)
        self.owner = owner

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a cancelled test) is normal; anything else is a
        # bug in the fake and must be loud.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Our own named, tracked threads, so stop() can join them without ThreadingMixIn's
        # private bookkeeping.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="fake-anthropic-handler",
            daemon=True,
        )
        self.owner._threads.append(thread)
        thread.start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # needed for chunked encoding
    timeout = 5  # a silent client cannot hold a handler thread for long
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        behaviour, n = owner._next(RecordedRequest("POST", self.path, headers, body))
        self.close_connection = True
        request_id = f"req_fake_{n:04d}"
        if self.path.split("?")[0] != "/v1/messages":
            return self._error(Status(404, message=f"no route {self.path}"), request_id)
        if isinstance(behaviour, Status):
            return self._error(behaviour, request_id)
        if isinstance(behaviour, Hang):
            while not (behaviour.released.wait(0.05) or owner._stopping.is_set()):
                pass
            return
        model = body.get("model", "claude-fake") if isinstance(body, dict) else "claude-fake"
        if isinstance(body, dict) and body.get("stream"):
            self._stream(behaviour, model, n, request_id)
        else:
            self._json_message(behaviour, model, n, request_id)

    def _start(self, code: int, content_type: str, request_id: str, extra: dict[str, str]) -> None:
        self.send_response(code)
        self.send_header("content-type", content_type)
        self.send_header("request-id", request_id)
        self.send_header("connection", "close")
        for name, value in extra.items():
            self.send_header(name, value)

    def _error(self, status: Status, request_id: str) -> None:
        etype = status.error_type or ERROR_TYPES.get(status.code, "api_error")
        error: dict[str, Any] = {"type": etype, "message": status.message}
        if status.error_code is not None:
            error["details"] = {"error_code": status.error_code}
        data = json.dumps({"type": "error", "error": error}).encode()
        extra = {"content-length": str(len(data))}
        if status.retry_after is not None:
            extra["retry-after"] = f"{status.retry_after:g}"
        self._start(status.code, "application/json", request_id, extra)
        self.end_headers()
        self.wfile.write(data)

    def _json_message(self, behaviour: Behaviour, model: str, n: int, request_id: str) -> None:
        chunks = behaviour.chunks if isinstance(behaviour, Stream) else []
        message = _message(n, model, 21, len(chunks), "end_turn")
        message["content"] = [{"type": "text", "text": "".join(chunks)}]
        data = json.dumps(message).encode()
        self._start(200, "application/json", request_id, {"content-length": str(len(data))})
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, behaviour: Behaviour, model: str, n: int, request_id: str) -> None:
        self._start(200, "text/event-stream", request_id, {"transfer-encoding": "chunked"})
        self.end_headers()
        stream = behaviour if isinstance(behaviour, Stream) else None
        count = behaviour.after_chunks if isinstance(behaviour, Drop | SseError) else 0
        chunks = stream.chunks if stream else [f"chunk {i} " for i in range(count)]
        input_tokens = stream.input_tokens if stream else 21
        self._event("message_start", message=_message(n, model, input_tokens, 1, None))
        self._event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        self._event("ping")
        for chunk in chunks:
            if stream and stream.delay and self.server.owner._stopping.wait(stream.delay):
                return
            self._event("content_block_delta", index=0, delta={"type": "text_delta", "text": chunk})
        if isinstance(behaviour, Drop):
            # No terminating chunk: to the client this is a connection lost mid-body.
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if isinstance(behaviour, SseError):
            self._event("error", error={"type": behaviour.error_type, "message": behaviour.message})
        else:
            assert stream is not None
            output = stream.output_tokens if stream.output_tokens is not None else len(chunks)
            self._event("content_block_stop", index=0)
            delta = {"stop_reason": stream.stop_reason, "stop_sequence": None}
            self._event("message_delta", delta=delta, usage={"output_tokens": output})
            self._event("message_stop")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, name: str, **fields: Any) -> None:
        data = json.dumps({"type": name, **fields})
        payload = f"event: {name}\ndata: {data}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()


def _message(n: int, model: str, inp: int, out: int, stop: str | None) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{n:04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": inp, "output_tokens": out},
    }


@pytest.fixture
def fake_anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropicServer]:
    """A running fake server; ANTHROPIC_BASE_URL and a fake ANTHROPIC_API_KEY point at it."""
    server = FakeAnthropicServer()
    server.start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    try:
        yield server
    finally:
        server.stop()
