"""The ``anthropic`` executor: one streamed Messages API call per attempt.

- The SDK is imported lazily, in a worker thread, on the first run: ``import anthropic`` takes
  about a second, which would freeze the UI's event loop and slow every CLI command.
- The key comes from ``ANTHROPIC_API_KEY`` only; ``ANTHROPIC_BASE_URL`` is left to the SDK.
- The SDK's own retries are off (``max_retries=0``): :mod:`bassi_tui.executor.retry` retries,
  with the task's policy, and counts the attempts.
- Clients are reused per (event loop, key, base URL): an HTTP connection pool belongs to the
  loop that opened it, so a client is never shared across loops (each test has its own).
- Every error becomes an :class:`ExecutorError` saying whether a retry can help and what to
  do; the API key is masked out of every message, whatever the server echoed.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import os
import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest, TextSink
from bassi_tui.executor.sdk_import import ensure_imported

if TYPE_CHECKING:
    from anthropic import APIStatusError, AsyncAnthropic

__all__ = ["MISSING_KEY_MESSAGE", "AnthropicRunner", "SdkClients", "map_error"]

MISSING_KEY_MESSAGE = (
    "ANTHROPIC_API_KEY is not set: export it in the environment that runs bassi-tui"
)
# Error types the API sends in a mid-stream `error` event that a later attempt may not hit.
_TRANSIENT_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error"})
# 429s that are about money, not speed: retrying in a minute cannot help.
_SPEND_LIMIT_CODES = frozenset({"contract_spend_limit_reached", "enforced_spend_limit_reached"})
_MAX_DETAIL = 300


def _body_error(body: object, key: str) -> str | None:
    """``body["error"][key]`` from an API error body, whatever the SDK version."""
    error = body.get("error") if isinstance(body, dict) else None
    value = error.get(key) if isinstance(error, dict) else None
    return value if isinstance(value, str) else None


def _error_code(body: object) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    code = details.get("error_code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            parsed = email.utils.parsedate_tz(raw) if scale == 1.0 else None
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


def _status_error(err: APIStatusError, model: str) -> ExecutorError:
    status = err.status_code
    detail = (_body_error(err.body, "message") or "").strip()[:_MAX_DETAIL] or "no details"
    etype = _body_error(err.body, "type")
    transient = False
    if status < 400:
        # An `error` event inside a 200 stream: the SDK raises it with the stream's status.
        transient = etype in _TRANSIENT_STREAM_ERRORS
        message = f"stream error {etype or 'unknown'}: {detail}"
    elif status == 429 and _error_code(err.body) in _SPEND_LIMIT_CODES:
        message = f"spend limit reached: {detail} — raise the limit in the Anthropic console"
    elif status == 429:
        transient, message = True, f"rate limited (429): {detail}"
    elif status == 529:
        transient, message = True, f"API overloaded (529): {detail}"
    elif status >= 500 or status == 408:
        transient, message = True, f"server error ({status}): {detail}"
    elif status == 400:
        message = f"bad request: {detail} — check model/max_tokens/system in config.yaml"
    elif status == 401:
        message = f"authentication failed — check ANTHROPIC_API_KEY ({detail})"
    elif status == 402:
        message = f"payment required: {detail} — check billing in the Anthropic console"
    elif status == 403:
        message = f"permission denied — may this key use model '{model}'? ({detail})"
    elif status == 404:
        message = f"not found — is model '{model}' right? ({detail})"
    elif status == 413:
        message = f"request too large — shorten prompt.txt ({detail})"
    else:
        message = f"API error {status}: {detail}"
    return ExecutorError(
        message,
        transient=transient,
        retry_after=parse_retry_after(err.response.headers) if transient else None,
        status_code=status,
        request_id=err.request_id,
    )


def map_error(
    err: BaseException, *, model: str, api_key: str = "", mid_stream: bool = False
) -> ExecutorError | None:
    """The ExecutorError for an SDK or HTTP failure, or None if ``err`` is neither.

    ``mid_stream``: the response had begun (its headers came), so a connection failure is a
    drop mid-way. ``api_key`` is masked out of the message, in case a server or proxy echoed it.
    """
    import anthropic  # already imported by the time anything can fail
    import httpx2

    mapped: ExecutorError
    if isinstance(err, anthropic.APIStatusError):
        mapped = _status_error(err, model)
    elif isinstance(err, anthropic.APITimeoutError):
        mapped = ExecutorError("request timed out waiting for the API", transient=True)
    elif isinstance(err, anthropic.APIConnectionError):
        cause = err.__cause__
        why = f"{type(cause).__name__}: {cause}" if cause is not None else err.message
        # Newer SDKs wrap a drop mid-stream too; older ones let the raw httpx2 error through.
        what = "connection dropped mid-stream" if mid_stream else "connection failed"
        mapped = ExecutorError(f"{what} ({why})", transient=True)
    elif isinstance(err, httpx2.HTTPError):
        # Once the stream is open older SDKs no longer wrap transport errors: a drop mid-way
        # surfaces as a raw httpx2 ReadTimeout, RemoteProtocolError, ReadError...
        mapped = ExecutorError(
            f"connection dropped mid-stream ({type(err).__name__}: {err})", transient=True
        )
    elif isinstance(err, anthropic.AnthropicError):
        mapped = ExecutorError(f"unexpected API error: {err}", transient=False)
    else:
        return None
    if api_key and api_key in mapped.message:
        mapped.message = mapped.message.replace(api_key, "***")
        mapped.args = (mapped.message,)
    return mapped


class SdkClients:
    """``AsyncAnthropic`` clients reused per (event loop, key, base URL); see the module docstring.

    A digest of the key, not the key, is the cache's key, so no repr of it can show the key.
    """

    def __init__(self, *, connect_timeout: float = 10.0, read_timeout: float = 300.0) -> None:
        # read_timeout bounds the silence between bytes, not the run: the API sends pings
        # during long generations, and the engine's task timeout bounds the whole run.
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, str | None], AsyncAnthropic]
        ] = weakref.WeakKeyDictionary()

    def get(self, api_key: str) -> AsyncAnthropic:
        """The client for ``api_key`` on the running loop (the SDK must be imported)."""
        per_loop = self._clients.setdefault(asyncio.get_running_loop(), {})
        ident = self._ident(api_key)
        client = per_loop.get(ident)
        if client is None:
            client = per_loop[ident] = self._build(api_key)
        return client

    async def warm(self) -> None:
        """Build the client for ``$ANTHROPIC_API_KEY`` on the running loop before the first run.

        Building one loads the system's CA certificates (tens of milliseconds, more under load);
        done in a thread here, at start-up, it is not on the first run's way to the API.
        """
        api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key:
            return  # nothing to build: a run without a key fails before it needs a client
        per_loop = self._clients.setdefault(asyncio.get_running_loop(), {})
        ident = self._ident(api_key)
        if ident not in per_loop:
            client = await asyncio.to_thread(self._build, api_key)
            per_loop.setdefault(ident, client)

    @staticmethod
    def _ident(api_key: str) -> tuple[str, str | None]:
        return hashlib.sha256(api_key.encode()).hexdigest(), os.environ.get("ANTHROPIC_BASE_URL")

    def _build(self, api_key: str) -> AsyncAnthropic:
        import anthropic
        import httpx2

        timeout = httpx2.Timeout(self.read_timeout, connect=self.connect_timeout)
        return anthropic.AsyncAnthropic(api_key=api_key, max_retries=0, timeout=timeout)

    def on_loop(self) -> dict[tuple[str, str | None], AsyncAnthropic]:
        """The clients open on the running loop, by (key digest, base URL)."""
        return self._clients.get(asyncio.get_running_loop(), {})

    async def aclose(self) -> None:
        """Close the clients opened on the running loop (call at shutdown)."""
        for client in self._clients.pop(asyncio.get_running_loop(), {}).values():
            await client.close()


class AnthropicRunner:
    """Streams one Messages API call per attempt; see the module docstring."""

    name: str = "anthropic"

    def __init__(self, *, connect_timeout: float = 10.0, read_timeout: float = 300.0) -> None:
        self._clients = SdkClients(connect_timeout=connect_timeout, read_timeout=read_timeout)

    def _client(self, api_key: str) -> AsyncAnthropic:
        return self._clients.get(api_key)

    async def warm(self) -> None:
        """Build this runner's HTTP client ahead of its first run (see :meth:`SdkClients.warm`)."""
        await self._clients.warm()

    async def aclose(self) -> None:
        """Close the clients opened on the running loop (call at shutdown)."""
        await self._clients.aclose()

    async def run(self, request: RunRequest, on_text: TextSink) -> AttemptResult:
        """One streamed call; text deltas go to ``on_text`` as they arrive."""
        api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key:
            raise ExecutorError(MISSING_KEY_MESSAGE, transient=False)
        await ensure_imported(["anthropic"])
        import anthropic

        config = request.config
        client = self._client(api_key)
        request_id: str | None = None
        opened = False  # the response's headers came: a failure from here on is mid-stream
        try:
            async with client.messages.stream(
                model=config.model,
                max_tokens=config.max_tokens,
                system=config.system if config.system else anthropic.omit,
                messages=[{"role": "user", "content": request.prompt}],
            ) as stream:
                request_id = stream.request_id
                opened = True
                finished = False
                async for event in stream:
                    if event.type == "content_block_delta" and event.delta.type == "text_delta":
                        await on_text(event.delta.text)
                    elif event.type == "message_stop":
                        finished = True
                if not finished:
                    raise ExecutorError(
                        "connection dropped mid-stream (ended before message_stop)",
                        transient=True,
                        request_id=request_id,
                    )
                message = stream.current_message_snapshot
        except ExecutorError:
            raise
        except Exception as err:
            mapped = map_error(err, model=config.model, api_key=api_key, mid_stream=opened)
            if mapped is None:
                raise  # not an API failure (e.g. on_text failed): not ours to judge
            # A raw transport error mid-stream knows no request id, but the stream's headers did.
            mapped.request_id = mapped.request_id or request_id
            # Chain the SDK error for debugging, unless a server echoed the key into it: a
            # logged traceback would print it.
            raise mapped from (None if api_key in f"{err} {err!r}" else err)
        return AttemptResult(
            model=message.model,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            request_id=request_id or getattr(message, "_request_id", None),
            stop_reason=message.stop_reason,
        )
