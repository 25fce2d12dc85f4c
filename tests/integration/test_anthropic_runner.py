"""The anthropic executor: the real SDK against the fake Messages server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import traceback
from collections.abc import AsyncIterator

import pytest

from bassi_tui.executor.anthropic_runner import (
    MISSING_KEY_MESSAGE,
    AnthropicRunner,
    parse_retry_after,
)
from bassi_tui.executor.base import ExecutorError, RunRequest
from bassi_tui.executor.retry import run_with_retries
from bassi_tui.store.models import TaskConfig
from tests.fake_anthropic import (
    FAKE_KEY,
    Drop,
    FakeAnthropicServer,
    Hang,
    SseError,
    Status,
    Stream,
)

MODEL = "claude-test-model"  # not in the SDK's deprecation list, so no warning noise


class Sink:
    """Collects streamed chunks with their arrival times."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.times: list[float] = []

    async def __call__(self, text: str) -> None:
        self.chunks.append(text)
        self.times.append(time.monotonic())


def request(prompt: str = "Say hi", **config: object) -> RunRequest:
    cfg = TaskConfig(model=MODEL, **config)  # type: ignore[arg-type]
    return RunRequest("weekly-report", prompt, cfg)


@pytest.fixture
async def runner() -> AsyncIterator[AnthropicRunner]:
    runner = AnthropicRunner()
    yield runner
    await runner.aclose()


async def failure(runner: AnthropicRunner, sink: Sink | None = None) -> ExecutorError:
    with pytest.raises(ExecutorError) as caught:
        await runner.run(request(), sink or Sink())
    return caught.value


async def test_a_stream_arrives_in_order_with_usage_and_request_id(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    fake_anthropic.enqueue(Stream(["Hel", "lo, ", "world"], input_tokens=42))
    sink = Sink()
    result = await runner.run(request("Hi {json}", system="Be brief.", max_tokens=321), sink)
    assert sink.chunks == ["Hel", "lo, ", "world"]
    assert (result.input_tokens, result.output_tokens) == (42, 3)
    assert result.request_id == "req_fake_0001"
    assert result.model == MODEL
    assert result.stop_reason == "end_turn"
    [sent] = fake_anthropic.requests
    assert sent.path == "/v1/messages"
    assert sent.api_key == FAKE_KEY
    assert sent.body == {
        "model": MODEL,
        "max_tokens": 321,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi {json}"}],
        "stream": True,
    }


async def test_no_system_prompt_means_no_system_field(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    await runner.run(request(), Sink())
    assert "system" not in fake_anthropic.requests[0].body


async def test_text_is_forwarded_while_the_stream_is_still_coming(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    fake_anthropic.enqueue(Stream(["a", "b", "c"], delay=0.2))
    sink = Sink()
    await runner.run(request(), sink)
    # Buffering the whole answer would deliver all three chunks at (nearly) the same moment.
    assert sink.times[-1] - sink.times[0] > 0.2


async def test_one_client_is_reused_across_runs(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    await runner.run(request(), Sink())
    await runner.run(request(), Sink())
    clients = runner._clients.on_loop()
    assert len(clients) == 1
    assert FAKE_KEY not in repr(clients)


async def test_a_rate_limit_is_transient_and_carries_retry_after(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    fake_anthropic.enqueue(Status(429, message="slow down", retry_after=7))
    error = await failure(runner)
    assert error.transient
    assert error.retry_after == 7
    assert error.status_code == 429
    assert error.request_id == "req_fake_0001"
    assert "slow down" in error.message


async def test_a_spend_limit_429_is_not_retried(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    fake_anthropic.enqueue(Status(429, error_code="enforced_spend_limit_reached"))
    error = await failure(runner)
    assert not error.transient
    assert "spend limit" in error.message


@pytest.mark.parametrize("code", [500, 502, 503, 529])
async def test_server_errors_and_overload_are_transient(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner, code: int
) -> None:
    fake_anthropic.enqueue(Status(code, retry_after=3))
    error = await failure(runner)
    assert error.transient
    assert error.status_code == code
    assert error.retry_after == 3


async def test_a_bad_key_is_permanent_and_never_echoed(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    # A server (or a proxy) that echoes the key back must not get it into our message.
    fake_anthropic.enqueue(Status(401, message=f"invalid x-api-key {FAKE_KEY}"))
    error = await failure(runner)
    assert not error.transient
    assert error.message.startswith("authentication failed — check ANTHROPIC_API_KEY")
    logged = "".join(traceback.format_exception(error))  # what a log.exception() would print
    for text in (error.message, str(error), repr(error), repr(error.args), logged):
        assert FAKE_KEY not in text


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (400, "bad request: fake error — check model/max_tokens/system in config.yaml"),
        (403, "permission denied"),
        (404, f"not found — is model '{MODEL}' right?"),
        (413, "request too large — shorten prompt.txt"),
    ],
)
async def test_client_errors_are_permanent_and_say_what_to_do(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner, code: int, hint: str
) -> None:
    fake_anthropic.enqueue(Status(code, retry_after=5))
    error = await failure(runner)
    assert not error.transient
    assert error.retry_after is None  # nothing to wait for: it will never work as it is
    assert error.status_code == code
    assert error.message.startswith(hint)


async def test_a_hanging_server_is_cut_off_by_the_callers_timeout(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    hang = Hang()
    fake_anthropic.enqueue(hang)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await runner.run(request(), Sink())
    assert time.monotonic() - started < 5  # the runner let the cancellation through
    assert len(fake_anthropic.requests) == 1
    hang.release()


async def test_a_stream_dropped_midway_is_transient(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    fake_anthropic.enqueue(Drop(after_chunks=2))
    sink = Sink()
    error = await failure(runner, sink)
    assert error.transient
    assert error.message.startswith("connection dropped mid-stream")
    assert error.request_id == "req_fake_0001"
    assert sink.chunks == ["chunk 0 ", "chunk 1 "]  # what came before the drop was streamed


@pytest.mark.parametrize(
    ("error_type", "transient"),
    [("overloaded_error", True), ("api_error", True), ("invalid_request_error", False)],
)
async def test_an_sse_error_event_midstream(
    fake_anthropic: FakeAnthropicServer,
    runner: AnthropicRunner,
    error_type: str,
    transient: bool,
) -> None:
    fake_anthropic.enqueue(SseError(after_chunks=1, error_type=error_type))
    error = await failure(runner)
    assert error.transient is transient
    assert error_type in error.message


async def test_a_missing_key_is_permanent_and_sends_nothing(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    error = await failure(runner)
    assert not error.transient
    assert error.message == MISSING_KEY_MESSAGE
    assert fake_anthropic.requests == []


async def test_nothing_listening_is_a_transient_connection_error(
    runner: AnthropicRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The autouse fixture points ANTHROPIC_BASE_URL at 127.0.0.1:9, where nothing listens.
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    error = await failure(runner)
    assert error.transient
    assert error.message.startswith("connection failed")


async def test_a_failing_sink_surfaces_as_itself(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    async def sink(text: str) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await runner.run(request(), sink)


async def test_retries_ride_out_overload_and_rate_limit(
    fake_anthropic: FakeAnthropicServer, runner: AnthropicRunner
) -> None:
    fake_anthropic.enqueue(Status(529), Status(429, retry_after=0.01), Stream(["done"]))
    delays: list[float] = []
    attempts: list[int] = []
    sink = Sink()

    async def sleep(delay: float) -> None:
        delays.append(delay)

    async def attempt(n: int) -> object:
        attempts.append(n)
        return await runner.run(request(), sink)

    result = await run_with_retries(attempt, max_retries=3, base_delay=0.001, sleep=sleep)
    assert attempts == [1, 2, 3]
    assert len(delays) == 2
    assert delays[1] >= 0.01  # the server's retry-after was honoured
    assert sink.chunks == ["done"]
    assert getattr(result, "request_id", None) == "req_fake_0003"
    assert len(fake_anthropic.requests) == 3


def test_stopping_the_server_releases_a_hang_and_leaves_no_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = FakeAnthropicServer()
    server.start()
    server.enqueue(Hang())  # never released: stop() alone must free its handler thread
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)

    async def main() -> None:
        runner = AnthropicRunner()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await runner.run(request(), Sink())
        await runner.aclose()

    try:
        asyncio.run(main())
    finally:
        server.stop()
    assert server.threads_alive() == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "12"}, 12.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_importing_the_executors_loads_neither_the_sdk_nor_the_ui() -> None:
    code = (
        "import sys; from bassi_tui.executor.runners import get_runner; get_runner('anthropic'); "
        "print(sorted(m for m in ('anthropic', 'textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
