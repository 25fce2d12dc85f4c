"""Streaming: tokens per second through the anthropic executor, beside the bare SDK.

Both talk to the same fake Messages server on 127.0.0.1 (tests/fake_anthropic.py), which sends
``tokens`` one-token text deltas as fast as it can. The server runs in threads of this process,
so it costs both sides alike.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bassi_tui.executor.anthropic_runner import AnthropicRunner
from bassi_tui.executor.base import RunRequest
from bassi_tui.scheduler.runs import RunContext, execute_run
from bassi_tui.store.parse import load_task
from bassi_tui.store.state import local_now
from bench.common import NOWHERE, Row, Series, now, report, temp_dir, write_task
from tests.fake_anthropic import FakeAnthropicServer, Stream

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


async def bare_sdk_stream(client: AsyncAnthropic, tokens: int) -> float:
    """Tokens/s with nothing but ``client.messages.stream(...).text_stream``."""
    got = 0
    t0 = now()
    async with client.messages.stream(
        model="claude-fake", max_tokens=64_000, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        async for _ in stream.text_stream:
            got += 1
    took = now() - t0
    assert got == tokens, f"bare SDK got {got} of {tokens} deltas"
    return tokens / took


async def _runner(runner: AnthropicRunner, request: RunRequest, tokens: int) -> float:
    """Tokens/s through ``AnthropicRunner.run`` (the executor, no files, no events)."""
    got = 0

    async def on_text(text: str) -> None:
        nonlocal got
        got += 1

    t0 = now()
    await runner.run(request, on_text)
    took = now() - t0
    assert got == tokens, f"runner got {got} of {tokens} deltas"
    return tokens / took


async def _engine_run(folder: Path, tokens: int) -> float:
    """Tokens/s through a whole run: the executor plus result file, metadata and events."""
    task = load_task(folder)
    events = 0

    def emit(_: object) -> None:
        nonlocal events
        events += 1

    t0 = now()
    outcome = await execute_run(
        task,
        RunContext("manual", datetime.now(UTC)),
        emit,
        clock=local_now,
        on_started=emit,
    )
    took = now() - t0
    assert outcome.record.status == "success", outcome.record.error
    return tokens / took


async def bench_streaming(tokens: int, reps: int) -> list[Row]:
    """Tokens/s: bare SDK, the anthropic runner and a whole engine run, interleaved."""
    server = FakeAnthropicServer()
    server.start()
    os.environ["ANTHROPIC_BASE_URL"] = server.base_url
    stream = Stream([f"t{n} " for n in range(tokens)])
    bare, runner_tps, engine_tps = [], [], []
    runner = AnthropicRunner()
    import anthropic  # after ANTHROPIC_BASE_URL points at the fake server

    client = anthropic.AsyncAnthropic(max_retries=0)  # one client, as the runner keeps one
    try:
        with temp_dir("stream") as root:
            folder = write_task(root, "stream", config="executor: anthropic\nmax_tokens: 64000\n")
            task = load_task(folder)
            request = RunRequest(task.name, "hi", task.config)
            server.enqueue(stream, stream)
            await bare_sdk_stream(client, tokens)  # warm-up: imports, first connection
            await _runner(runner, request, tokens)
            for _ in range(reps):
                server.enqueue(stream, stream, stream)
                bare.append(await bare_sdk_stream(client, tokens))
                runner_tps.append(await _runner(runner, request, tokens))
                engine_tps.append(await _engine_run(folder, tokens))
            await runner.aclose()
    finally:
        await client.close()
        server.stop()
        os.environ["ANTHROPIC_BASE_URL"] = NOWHERE
    base = Series(bare, "tok/s")
    ratio = Series(runner_tps, "tok/s").median / base.median
    engine_ratio = Series(engine_tps, "tok/s").median / base.median
    rows = [
        Row(
            "streaming: AnthropicRunner.run",
            Series(runner_tps, "tok/s"),
            base,
            "bare SDK",
            "≥ 0.8× bare SDK",
            ratio >= 0.8,
            notes=[f"{ratio:.2f}× the bare SDK; {reps} reps of {tokens} deltas, interleaved"],
        ),
        Row(
            "streaming: a whole engine run",
            Series(engine_tps, "tok/s"),
            base,
            "bare SDK",
            "info",
            None,
            notes=[f"{engine_ratio:.2f}× the bare SDK (result file, metadata, events included)"],
        ),
    ]
    return [report(r) for r in rows]
