"""The demo's stand-in for the model: a scripted Messages API on 127.0.0.1, for the agent task.

``bassi-tui --demo`` must show an agent acting with no API key and no network. The demo's agent
task therefore runs the real path (the SDK's tool runner, the real agent toolset writing a real
file in the task's workdir, the transcript, the metadata), and only the model is a script: this
small HTTP server answers the Messages API's streaming protocol. Its first reply calls the
offered write tool (found by its input schema) to save a note in ``_RESULTS_FROM_AGENT/``; once
the request carries that tool's result, it answers with a short summary.

It keeps no state: a request that continues a server-side message thread is answered with the
API's ``thread_not_found`` error, on which the SDK sends the whole conversation again. Written by
hand because nothing packaged plays this part; it is only started by ``--demo``, which also
points ``ANTHROPIC_BASE_URL`` at it and uses a dummy key, so no real key is ever sent anywhere.
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["DEMO_KEY", "DemoModel", "start_demo_model"]

#: The dummy key the demo uses (the stand-in accepts anything; the real API would refuse it).
DEMO_KEY = "demo-stand-in-not-a-key"
NOTE_PATH = "_RESULTS_FROM_AGENT/note.md"
#: The model name the stand-in answers with (what the run's metadata and the viewer show).
STAND_IN = "demo-stand-in"


def _events(message_id: str, model: str, blocks: list[dict[str, Any]], stop: str) -> list[bytes]:
    """The SSE events of one reply made of ``blocks`` (text or tool_use), as the API sends them."""
    out: list[tuple[str, dict[str, Any]]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 40, "output_tokens": 1},
                },
            },
        )
    ]
    for index, block in enumerate(blocks):
        if block["type"] == "text":
            out.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            for word in block["text"].split(" "):
                delta = {"type": "text_delta", "text": word + " "}
                out.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
        else:
            start = {**block, "input": {}}
            out.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": start},
                )
            )
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            out.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    out.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 30},
            },
        )
    )
    out.append(("message_stop", {"type": "message_stop"}))
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in out]


def _reply(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The scripted reply to a request: write the note first, then say it is done."""
    history = body.get("messages") or []
    answered = any(
        isinstance(block, dict) and block.get("type") == "tool_result"
        for message in history
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for block in message["content"]
    )
    if answered:
        return [{"type": "text", "text": f"Saved the note in {NOTE_PATH}. Done."}], "end_turn"
    writers = [
        tool["name"]
        for tool in body.get("tools") or []
        if {"file_path", "content"} <= set((tool.get("input_schema") or {}).get("properties", {}))
    ]
    if not writers:
        text = "(The demo stand-in needs the write tool to act; add `write` to `tools`.)"
        return [{"type": "text", "text": text}], "end_turn"
    prompt = next(
        (m.get("content") for m in history if isinstance(m, dict) and m.get("role") == "user"),
        "",
    )
    first = prompt if isinstance(prompt, str) else "(the prompt)"
    note = (
        f"# Demo note\n\nWritten by the agent at {datetime.now():%Y-%m-%d %H:%M:%S} "
        f"for this prompt:\n\n> {first.strip()}\n"
    )
    call = {
        "type": "tool_use",
        "id": f"toolu_demo_{secrets.token_hex(6)}",
        "name": writers[0],
        "input": {"file_path": NOTE_PATH, "content": note},
    }
    return [{"type": "text", "text": "Writing the note."}, call], "tool_use"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # never onto the app's terminal
        return

    def do_POST(self) -> None:
        size = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(size) or b"{}")
        except ValueError:
            body = {}
        thread = body.get("thread") if isinstance(body, dict) else None
        if isinstance(thread, dict) and thread.get("type") == "continue":
            error = {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "the demo stand-in keeps no threads",
                    "details": {"error_code": "thread_not_found"},
                },
            }
            data = json.dumps(error).encode()
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(data)
            return
        blocks, stop = _reply(body if isinstance(body, dict) else {})
        message_id = f"msg_demo_{secrets.token_hex(8)}"
        model = STAND_IN  # the records say honestly that no Claude model answered
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("request-id", f"req_demo_{secrets.token_hex(6)}")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("connection", "close")
        self.end_headers()
        for event in _events(message_id, model, blocks, stop):
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


class DemoModel:
    """The stand-in server; :func:`start_demo_model` starts one."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-model", daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DemoModel:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def start_demo_model() -> DemoModel:
    """Start the stand-in on a free loopback port."""
    return DemoModel().start()
