"""A small but real fake of the Anthropic Messages API, on 127.0.0.1, for the real SDK to talk to.

It runs a stdlib HTTP server in background threads, so it works under any test event loop.
Streams are sent the way the API sends them: ``text/event-stream`` in chunked transfer encoding,
with message_start, content_block_start, ping, content_block_delta x N, content_block_stop,
message_delta and message_stop. Chunked encoding matters: it is what lets the client tell a
dropped stream (no terminating chunk) from a finished one.

Script it with ``server.enqueue(Stream([...]), Status(529), ...)``; each request takes the next
behaviour, and an empty queue answers with :data:`DEFAULT_STREAM` (or, with ``server.strict``
set, with a 400 that says the script ran out). Every response closes its connection, so no idle
keep-alive socket holds a handler thread when the server stops. ``POST /v1/messages`` and
``/v1/messages?beta=true`` are both served.

Tool use
========

:class:`ToolTurn` answers one request with optional text and one or more ``tool_use`` blocks,
streamed as the API streams them (``content_block_start`` with ``input: {}``, then the input JSON
in ``input_json_delta`` pieces, the first one empty, then ``content_block_stop``; ``message_delta``
with ``stop_reason: "tool_use"``), or as one JSON message when the request has no ``stream``.
Its ``call`` picks the tool from what the request offered::

    server.enqueue(
        ToolTurn(lambda req: ("write", {"file_path": "a.txt", "content": "hi"})),
        ToolTurn(lambda req: [("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})],
                 text="Adding.", usage=Usage(input_tokens=50, cache_read_input_tokens=40)),
        Stream(["All done."], cache_read_input_tokens=90),  # the final end_turn reply
    )

``req`` is the :class:`RecordedRequest` (``req.tool_names``, ``req.tools``, ``req.tool_results``,
``req.history``, ``req.body``). A call to a tool the request did not offer, or a script that
raises, is answered with a 400 whose message says so (and lands in ``server.script_errors``);
``ToolTurn(..., offered_only=False)`` sends such a call anyway, as a confused model would.
:class:`Usage` sets the four token counts of a turn; message_start carries the input side and
``output_tokens: 1``, message_delta the final ``output_tokens``, as the API does.

Message threads
===============

The SDK's tool runner (anthropic 2.17) runs on a server-side *message thread* unless it is given
``thread=False``: its first request carries ``"thread": {"type": "create"}`` with ``system``,
``tools`` and the whole history, and each later one ``{"type": "continue", "previous_message_id":
<the last reply's id>}`` with ONLY the new messages (the tool_result user message) and no
``system`` or ``tools``: the server keeps them. It also adds the ``message-threads-2026-08-12``
beta header. The fake keeps threads too: ``RecordedRequest.tools`` / ``tool_names`` are the tools
in force for the request (the thread's on a continue), ``history`` the whole conversation the
model sees, ``messages`` only what the request itself carried. A continue of an unknown reply
answers 400 with ``error.details.error_code == "thread_not_found"`` and one of a reply already
continued ``thread_already_continued`` (the codes the SDK recovers from by re-sending the whole
history under a new thread); such a rejection does not use up a scripted reply. With
``thread=False`` every request carries ``tools`` and the whole history.

Driving the async streaming tool runner (anthropic 2.17, found against this server)
===================================================================================

::

    client = anthropic.AsyncAnthropic(base_url=..., api_key=..., max_retries=0)
    runner = client.beta.messages.tool_runner(  # a plain call: makes the runner, sends nothing
        model=..., max_tokens=..., messages=[{"role": "user", "content": prompt}],
        tools=[...],                            # @beta_async_tool functions, e.g.
        stream=True, max_iterations=N,          # beta_agent_toolset_20260401(ctx)
    )
    try:
        async for stream in runner:                 # one BetaAsyncMessageStream per model turn
            async for event in stream:
                ...
            message = await stream.get_final_message()
            results = await runner.generate_tool_call_response()  # optional, see below
    finally:
        await runner.close()

* Each ``async for stream in runner`` step SENDS the turn's request and waits for the response
  headers, so an HTTP error (401, 429, 529, a thread rejection it cannot recover from) or a hang
  happens on that line, before any event. The stream is already open when it is yielded.
* Events of a turn, in order: ``message_start`` (``event.message.id``, ``.usage`` with
  ``input_tokens``, ``cache_read_input_tokens``, ``cache_creation_input_tokens`` and
  ``output_tokens`` 1); per text block ``content_block_start`` (``event.content_block.type ==
  "text"``), then for each piece a raw ``content_block_delta`` (``event.delta.type ==
  "text_delta"``) FOLLOWED by a derived ``text`` event (``event.text``, ``event.snapshot``: the
  block so far), then ``content_block_stop``; per tool call ``content_block_start``
  (``event.content_block.type == "tool_use"`` with ``.id``, ``.name``, ``.input == {}``), then
  ``content_block_delta`` (``input_json_delta``) each followed by an ``input_json`` event
  (``event.partial_json``, ``event.snapshot``: the input parsed so far), then
  ``content_block_stop`` whose ``event.content_block`` is the whole ``BetaToolUseBlock`` with its
  complete ``input``; then ``message_delta`` (``event.delta.stop_reason`` "tool_use" or
  "end_turn", ``event.usage.output_tokens``); then ``message_stop`` whose ``event.message`` is the
  final message. ``ping`` events are not passed on. Use either the raw ``content_block_delta`` or
  the derived ``text`` event for text, not both, or the text doubles.
* ``await stream.get_final_message()`` reads the rest of the stream if needed and returns the
  turn's ``ParsedBetaMessage``: ``.id``, ``.content`` (text and tool_use blocks),
  ``.stop_reason``, ``.usage.input_tokens`` / ``.output_tokens`` / ``.cache_read_input_tokens``
  / ``.cache_creation_input_tokens`` (None when the API sent none). Usage is per turn: sum it
  over the turns for the run.
* Tools run AFTER the loop body is done with the turn (at the next ``__anext__``), one call at a
  time in the model's order, unless the runner was made with ``run_tools_eagerly=True``. The
  body may call ``await runner.generate_tool_call_response()`` to run them early and see the
  user message of ``tool_result`` blocks (``{"role": "user", "content": [{"type":
  "tool_result", "tool_use_id": ..., "content": ..., "is_error"?: True}]}``); it is cached, so
  the tools still run once. The runner appends that message and sends it as the next request's
  last (on a thread: only) message. A tool that raises ``ToolError`` or any ``Exception`` becomes
  an ``is_error`` result and the loop goes on; a call to a tool the runner does not have gets
  ``"Error: Tool 'x' not found"`` with ``is_error`` (plus a ``UserWarning``). A turn whose
  stop_reason is not "tool_use" (end_turn, max_tokens, ...) ends the loop and its tool calls are
  NOT run.
* ``max_iterations=N`` caps the number of REQUESTS. The loop ends quietly after the N-th turn,
  with no exception; if that turn asked for tools they STILL RUN, but their results are never
  sent. Check the last ``stop_reason`` to tell "finished" (end_turn) from "cut off" (tool_use).
* ``break`` runs no tool of that turn but leaves the runner suspended inside the turn, whose
  HTTP stream stays open until ``await runner.close()`` closes both (the finally above). A closed
  runner yields nothing more.
* Cancelling the task that iterates raises ``CancelledError`` wherever it waits (the request,
  an event, a tool): it is not caught by the tool error handling, the tool's result is not sent
  and no further request goes out. ``await runner.close()`` afterwards is safe.
* A stream lost mid-turn raises ``anthropic.APIConnectionError`` from ``async for event in
  stream`` and runs none of that turn's tools.

Waiting without sleeps: ``Hang().entered`` is a ``threading.Event`` set once a request hangs
(``await asyncio.to_thread(hang.entered.wait, 30)``); ``server.pending()`` counts the scripted
answers not yet used.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    cache_read_input_tokens: int | None = None  # None: not sent
    cache_creation_input_tokens: int | None = None  # None: not sent


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
    entered: threading.Event = field(default_factory=threading.Event)  # set once a request hangs

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


@dataclass(frozen=True)
class Usage:
    """The token counts of one scripted turn, as the API reports them."""

    input_tokens: int = 21
    output_tokens: int = 7
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


ToolCall = tuple[str, Mapping[str, Any]]
"""One tool call: the tool's name and its input."""

CallScript = Callable[["RecordedRequest"], "ToolCall | Sequence[ToolCall]"]
"""Picks the call(s) of a :class:`ToolTurn` from the request, e.g. from ``req.tool_names``."""


@dataclass(frozen=True)
class ToolTurn:
    """A turn that calls tools: ``text`` first (if any), then one ``tool_use`` block per call.

    ``call`` is a :data:`CallScript` run on the request when it arrives, or fixed call(s). Each
    call's name must be among the tools the request offered (unless ``offered_only`` is False);
    otherwise the request is answered with a 400 saying so. The input JSON is streamed in up to
    ``pieces`` ``input_json_delta`` pieces after an empty one; ``drop_after_pieces`` closes the
    socket mid-call after that many non-empty pieces (over all calls), as a lost connection does.
    """

    call: CallScript | ToolCall | Sequence[ToolCall]
    text: str | Sequence[str] = ()  # a str is one text delta; a list, one delta per item
    usage: Usage = field(default_factory=Usage)
    stop_reason: str = "tool_use"
    pieces: int = 3
    delay: float = 0.0  # seconds before each delta
    offered_only: bool = True
    drop_after_pieces: int | None = None


Behaviour = Stream | Status | Hang | Drop | SseError | ToolTurn
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
    """One request as the server saw it; header names are lower-case.

    On a ``continue`` of a message thread, ``held_tools``, ``held_system`` and ``held_messages``
    are what the server kept for the thread (the request itself carries none of them).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    held_tools: list[dict[str, Any]] | None = None
    held_system: Any = None
    held_messages: list[dict[str, Any]] = field(default_factory=list)
    #: Wall-clock time (``time.time()``) the server took the request: when it reached the API.
    received_at: float = field(default_factory=time.time)

    @property
    def api_key(self) -> str | None:
        """The key the client sent, as ``x-api-key`` or ``Authorization: Bearer``."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    def _field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    @property
    def thread(self) -> dict[str, Any] | None:
        """The request's ``thread`` field: ``{"type": "create"}``, ``{"type": "continue", ...}``."""
        value = self._field("thread")
        return value if isinstance(value, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages this request carried (on a thread continue: only the new ones)."""
        value = self._field("messages")
        return list(value) if isinstance(value, list) else []

    @property
    def history(self) -> list[dict[str, Any]]:
        """The whole conversation the model sees: the thread's messages, then this request's."""
        return [*self.held_messages, *self.messages]

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The tool definitions in force: the request's ``tools``, or the thread's on a continue."""
        value = self._field("tools")
        if isinstance(value, list):
            return list(value)
        return list(self.held_tools or [])

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools offered, in order (toolset entries have no name)."""
        return [str(t["name"]) for t in self.tools if isinstance(t, dict) and "name" in t]

    @property
    def system(self) -> Any:
        """The system prompt in force: the request's, or the thread's on a continue."""
        value = self._field("system")
        return value if value is not None else self.held_system

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The ``tool_result`` blocks of this request's last message, if it is a user message."""
        messages = self.messages
        if not messages or messages[-1].get("role") != "user":
            return []
        content = messages[-1].get("content")
        if not isinstance(content, list):
            return []
        return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


class ScriptError(Exception):
    """A :class:`ToolTurn` script that cannot be answered; the client gets it as a 400."""


@dataclass
class _HeldThread:
    """What the server keeps of a message thread, under the id of its last reply."""

    tools: list[dict[str, Any]] | None
    system: Any
    messages: list[dict[str, Any]]
    continued: bool = False


@dataclass
class _Taken:
    """One request, its number, the behaviour it takes and what its reply continues."""

    number: int
    request: RecordedRequest
    behaviour: Behaviour
    thread: _HeldThread | None = None  # the thread before the reply; None: not threaded
    parent: str | None = None  # the reply id the request continued


class FakeAnthropicServer:
    """The server; see the module docstring. ``start()``/``stop()`` or use it as a fixture."""

    def __init__(self, *, strict: bool = False) -> None:
        self.requests: list[RecordedRequest] = []
        self.script_errors: list[str] = []
        self.strict = strict  # an empty queue answers a 400 instead of DEFAULT_STREAM
        self._queue: deque[Behaviour] = deque()
        self._threads_held: dict[str, _HeldThread] = {}
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

    def pending(self) -> int:
        """How many scripted answers are still queued."""
        with self._lock:
            return len(self._queue)

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
    def _take(self, path: str, headers: dict[str, str], body: Any) -> _Taken:
        """Record a request and decide its answer: a route or thread rejection, else the next
        scripted behaviour. A thread rejection leaves the script alone: the SDK re-sends."""
        with self._lock:
            self._counter += 1
            n = self._counter
            if path.split("?")[0] != "/v1/messages":
                request = RecordedRequest("POST", path, headers, body)
                self.requests.append(request)
                self._pop()
                return _Taken(n, request, Status(404, message=f"no route {path}"))
            thread = body.get("thread") if isinstance(body, dict) else None
            kind = thread.get("type") if isinstance(thread, dict) else None
            if kind != "continue":
                request = RecordedRequest("POST", path, headers, body)
                self.requests.append(request)
                held = None
                if kind == "create":
                    held = _HeldThread(body.get("tools"), body.get("system"), request.messages)
                return _Taken(n, request, self._pop(n), held)
            assert isinstance(thread, dict)
            parent = thread.get("previous_message_id")
            held = self._threads_held.get(parent) if isinstance(parent, str) else None
            request = RecordedRequest(
                "POST",
                path,
                headers,
                body,
                held_tools=held.tools if held else None,
                held_system=held.system if held else None,
                held_messages=list(held.messages) if held else [],
            )
            self.requests.append(request)
            rejection = self._reject_continue(held, parent, body)
            if rejection is not None:
                return _Taken(n, request, rejection)
            assert held is not None
            start = _HeldThread(held.tools, held.system, request.history)
            return _Taken(n, request, self._pop(n), start, parent)

    def _pop(self, n: int = 0) -> Behaviour:
        if self._queue:
            return self._queue.popleft()
        if not self.strict:
            return DEFAULT_STREAM
        message = f"fake Anthropic server: no scripted reply left for request #{n}"
        self.script_errors.append(message)
        return Status(400, message=message)

    @staticmethod
    def _reject_continue(
        held: _HeldThread | None, parent: Any, body: dict[str, Any]
    ) -> Status | None:
        if held is None:
            return Status(
                400,
                message=f"thread not found: previous_message_id {parent!r}",
                error_code="thread_not_found",
            )
        if held.continued:
            return Status(
                400,
                message=f"thread already continued from {parent!r}",
                error_code="thread_already_continued",
            )
        repeated = [name for name in ("system", "tools") if name in body]
        if repeated:
            return Status(400, message=f"{' and '.join(repeated)} cannot be sent on a continue")
        return None

    def _keep_reply(self, taken: _Taken, message: dict[str, Any]) -> None:
        """A finished reply on a thread: the thread now continues from it."""
        if taken.thread is None:
            return
        reply = {"role": "assistant", "content": message["content"]}
        with self._lock:
            if taken.parent is not None:
                self._threads_held[taken.parent].continued = True
            self._threads_held[message["id"]] = _HeldThread(
                taken.thread.tools, taken.thread.system, [*taken.thread.messages, reply]
            )

    def _script_error(self, message: str) -> Status:
        with self._lock:
            self.script_errors.append(message)
        return Status(400, message=f"fake Anthropic server: {message}")


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog of 5 resets connections when a burst of runs (100
    # due at once) connects together, as a real API front end never would.
    request_queue_size = 512

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


def _calls_of(turn: ToolTurn, request: RecordedRequest) -> list[tuple[str, dict[str, Any]]]:
    """Run the turn's script and check its calls; raises :class:`ScriptError`."""
    try:
        picked = turn.call(request) if callable(turn.call) else turn.call
    except Exception as exc:
        raise ScriptError(f"ToolTurn script raised {exc!r}") from exc
    single = isinstance(picked, tuple) and len(picked) == 2 and isinstance(picked[0], str)
    raw: list[Any] = [picked] if single else list(picked)
    if not raw:
        raise ScriptError("ToolTurn script made no tool call")
    calls: list[tuple[str, dict[str, Any]]] = []
    for item in raw:
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], Mapping)
        ):
            raise ScriptError(f"a tool call must be (name, input mapping), got {item!r}")
        name, arguments = item[0], dict(item[1])
        if turn.offered_only and name not in request.tool_names:
            raise ScriptError(
                f"ToolTurn called tool {name!r}, which the request did not offer "
                f"(offered: {request.tool_names})"
            )
        try:
            json.dumps(arguments)
        except (TypeError, ValueError) as exc:
            raise ScriptError(f"the input of {name!r} is not JSON: {exc}") from exc
        calls.append((name, arguments))
    return calls


def _pieces(text: str, count: int) -> list[str]:
    """``text`` cut into at most ``count`` non-empty pieces, after an empty one (as the API)."""
    size = max(1, -(-len(text) // max(1, count)))
    return ["", *(text[i : i + size] for i in range(0, len(text), size))]


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
        taken = owner._take(self.path, headers, body)
        behaviour, n = taken.behaviour, taken.number
        self.close_connection = True
        request_id = f"req_fake_{n:04d}"
        if isinstance(behaviour, Status):
            return self._error(behaviour, request_id)
        if isinstance(behaviour, Hang):
            behaviour.entered.set()
            while not (behaviour.released.wait(0.05) or owner._stopping.is_set()):
                pass
            return
        model = body.get("model", "claude-fake") if isinstance(body, dict) else "claude-fake"
        streamed = isinstance(body, dict) and bool(body.get("stream"))
        if isinstance(behaviour, ToolTurn):
            try:
                calls = _calls_of(behaviour, taken.request)
            except ScriptError as exc:
                return self._error(owner._script_error(str(exc)), request_id)
            if streamed:
                reply = self._stream_tools(behaviour, calls, model, n, request_id)
            else:
                reply = self._json(_tool_message(behaviour, calls, model, n), request_id)
        elif streamed:
            reply = self._stream(behaviour, model, n, request_id)
        else:
            reply = self._json_message(behaviour, model, n, request_id)
        if reply is not None:
            owner._keep_reply(taken, reply)

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

    def _json(self, message: dict[str, Any], request_id: str) -> dict[str, Any]:
        data = json.dumps(message).encode()
        self._start(200, "application/json", request_id, {"content-length": str(len(data))})
        self.end_headers()
        self.wfile.write(data)
        return message

    def _json_message(
        self, behaviour: Behaviour, model: str, n: int, request_id: str
    ) -> dict[str, Any]:
        stream = behaviour if isinstance(behaviour, Stream) else None
        chunks = stream.chunks if stream else []
        output = stream.output_tokens if stream and stream.output_tokens is not None else None
        message = _message(
            n,
            model,
            stream.input_tokens if stream else 21,
            len(chunks) if output is None else output,
            stream.stop_reason if stream else "end_turn",
            cache_read=stream.cache_read_input_tokens if stream else None,
            cache_creation=stream.cache_creation_input_tokens if stream else None,
        )
        message["content"] = [{"type": "text", "text": "".join(chunks)}]
        return self._json(message, request_id)

    def _stream(
        self, behaviour: Behaviour, model: str, n: int, request_id: str
    ) -> dict[str, Any] | None:
        self._start(200, "text/event-stream", request_id, {"transfer-encoding": "chunked"})
        self.end_headers()
        stream = behaviour if isinstance(behaviour, Stream) else None
        count = behaviour.after_chunks if isinstance(behaviour, Drop | SseError) else 0
        chunks = stream.chunks if stream else [f"chunk {i} " for i in range(count)]
        input_tokens = stream.input_tokens if stream else 21
        cache_read = stream.cache_read_input_tokens if stream else None
        cache_creation = stream.cache_creation_input_tokens if stream else None
        start = _message(
            n, model, input_tokens, 1, None, cache_read=cache_read, cache_creation=cache_creation
        )
        self._event("message_start", message=start)
        self._event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        self._event("ping")
        for chunk in chunks:
            if stream and stream.delay and self.server.owner._stopping.wait(stream.delay):
                return None
            self._event("content_block_delta", index=0, delta={"type": "text_delta", "text": chunk})
        if isinstance(behaviour, Drop):
            # No terminating chunk: to the client this is a connection lost mid-body.
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        reply: dict[str, Any] | None = None
        if isinstance(behaviour, SseError):
            self._event("error", error={"type": behaviour.error_type, "message": behaviour.message})
        else:
            assert stream is not None
            output = stream.output_tokens if stream.output_tokens is not None else len(chunks)
            self._event("content_block_stop", index=0)
            delta = {"stop_reason": stream.stop_reason, "stop_sequence": None}
            self._event("message_delta", delta=delta, usage={"output_tokens": output})
            self._event("message_stop")
            reply = {**start, "content": [{"type": "text", "text": "".join(chunks)}]}
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return reply

    def _stream_tools(
        self,
        turn: ToolTurn,
        calls: list[tuple[str, dict[str, Any]]],
        model: str,
        n: int,
        request_id: str,
    ) -> dict[str, Any] | None:
        """Stream a :class:`ToolTurn`; returns the finished message, or None if it was cut."""
        stopping = self.server.owner._stopping
        final = _tool_message(turn, calls, model, n)
        start = {**final, "content": [], "stop_reason": None}
        start["usage"] = {**final["usage"], "output_tokens": 1}
        self._start(200, "text/event-stream", request_id, {"transfer-encoding": "chunked"})
        self.end_headers()
        self._event("message_start", message=start)
        sent_pieces = 0
        for index, block in enumerate(final["content"]):
            if block["type"] == "text":
                self._event("content_block_start", index=index, content_block={**block, "text": ""})
                if index == 0:
                    self._event("ping")
                for text in _text_deltas(turn.text):
                    if turn.delay and stopping.wait(turn.delay):
                        return None
                    delta = {"type": "text_delta", "text": text}
                    self._event("content_block_delta", index=index, delta=delta)
            else:
                self._event(
                    "content_block_start", index=index, content_block={**block, "input": {}}
                )
                if index == 0:
                    self._event("ping")
                for piece in _pieces(json.dumps(block["input"]), turn.pieces):
                    if turn.delay and stopping.wait(turn.delay):
                        return None
                    delta = {"type": "input_json_delta", "partial_json": piece}
                    self._event("content_block_delta", index=index, delta=delta)
                    sent_pieces += bool(piece)
                    if turn.drop_after_pieces is not None and sent_pieces >= turn.drop_after_pieces:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return None
            self._event("content_block_stop", index=index)
        end = {"stop_reason": turn.stop_reason, "stop_sequence": None}
        self._event("message_delta", delta=end, usage={"output_tokens": turn.usage.output_tokens})
        self._event("message_stop")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return final

    def _event(self, name: str, **fields: Any) -> None:
        data = json.dumps({"type": name, **fields})
        payload = f"event: {name}\ndata: {data}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()


def _text_deltas(text: str | Sequence[str]) -> list[str]:
    return [text] if isinstance(text, str) else list(text)


def _tool_message(
    turn: ToolTurn, calls: list[tuple[str, dict[str, Any]]], model: str, n: int
) -> dict[str, Any]:
    """The whole message a :class:`ToolTurn` answers with (the JSON shape, and the stream's end)."""
    usage = turn.usage
    message = _message(
        n,
        model,
        usage.input_tokens,
        usage.output_tokens,
        turn.stop_reason,
        cache_read=usage.cache_read_input_tokens,
        cache_creation=usage.cache_creation_input_tokens,
    )
    text = "".join(_text_deltas(turn.text))
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for i, (name, arguments) in enumerate(calls):
        tool_id = f"toolu_fake{n:04d}{i:02d}"
        content.append({"type": "tool_use", "id": tool_id, "name": name, "input": arguments})
    message["content"] = content
    return message


def _message(
    n: int,
    model: str,
    inp: int,
    out: int,
    stop: str | None,
    *,
    cache_read: int | None = None,
    cache_creation: int | None = None,
) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": inp, "output_tokens": out}
    if cache_read is not None:
        usage["cache_read_input_tokens"] = cache_read
    if cache_creation is not None:
        usage["cache_creation_input_tokens"] = cache_creation
    return {
        "id": f"msg_fake_{n:04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
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
