"""The agent executor: a turn's cost beside the bare SDK tool runner, and its streaming speed.

Both sides talk to the same fake Messages server on 127.0.0.1 (tests/fake_anthropic.py), which
answers each turn with a tool call (the offered ``read`` tool, on a small file) and then a final
text turn. The bare side is ``client.beta.messages.tool_runner(..., stream=True)`` over the SDK's
own read tool bound to an ``AgentToolContext``; the agent side is ``AgentRunner.run`` with
``tools: [read]`` (which adds the workdir snapshot, the inert tool lines, the transcript and the
token sums). The per-turn figure is the attempt's time divided by its turns; the target is at
most 10 ms more per turn than the bare runner. Streaming counts text deltas per second of a
final text turn, beside the bare SDK's ``messages.stream``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bassi_tui.executor.agent_runner import AgentRunner
from bassi_tui.executor.base import RunRequest
from bassi_tui.store.models import TaskConfig
from bench.common import Row, Series, make_safe_env, now, report, temp_dir
from bench.stream_fig import bare_sdk_stream
from tests.fake_anthropic import FAKE_KEY, FakeAnthropicServer, RecordedRequest, Stream, ToolTurn

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

#: Extra cost per turn the agent executor may add over the bare tool runner.
TURN_BUDGET_MS = 10.0


def _read_call(req: RecordedRequest) -> tuple[str, dict[str, Any]]:
    [name] = [
        t["name"]
        for t in req.tools
        if {"file_path", "view_range"} <= set(t["input_schema"].get("properties", {}))
    ]
    return name, {"file_path": "_DATA_FROM_USER/data.txt"}


def _script(server: FakeAnthropicServer, turns: int) -> None:
    server.enqueue(*(ToolTurn(_read_call) for _ in range(turns - 1)), Stream(["Done."]))


async def _bare_turns(client: AsyncAnthropic, workdir: Path, turns: int) -> float:
    """Seconds per turn through the SDK's own streaming tool runner and read tool."""
    from anthropic.lib.tools.agent_toolset import AgentToolContext, beta_read_tool

    t0 = now()
    async with AgentToolContext(workdir=str(workdir)) as ctx:
        runner = client.beta.messages.tool_runner(
            model="claude-fake",
            max_tokens=1024,
            messages=[{"role": "user", "content": "read it"}],
            tools=[beta_read_tool(ctx)],
            stream=True,
            max_iterations=turns + 1,
        )
        seen = 0
        try:
            async for stream in runner:
                async for _ in stream:
                    pass
                await stream.get_final_message()
                seen += 1
        finally:
            await runner.close()
    assert seen == turns, f"bare runner made {seen} of {turns} turns"
    return (now() - t0) / turns


async def _agent_turns(runner: AgentRunner, request: RunRequest, turns: int) -> float:
    """Seconds per turn through ``AgentRunner.run``."""

    async def on_text(_: str) -> None:
        return None

    t0 = now()
    result = await runner.run(request, on_text)
    assert result.turns == turns, f"agent made {result.turns} of {turns} turns"
    return (now() - t0) / turns


async def _agent_stream(runner: AgentRunner, request: RunRequest, tokens: int) -> float:
    got = 0

    async def on_text(_: str) -> None:
        nonlocal got
        got += 1

    t0 = now()
    await runner.run(request, on_text)
    assert got == tokens, f"agent streamed {got} of {tokens} deltas"
    return tokens / (now() - t0)


async def bench_agent(turns: int, reps: int, tokens: int) -> list[Row]:
    """Per-turn cost and streaming speed of the agent executor, beside the bare SDK."""
    server = FakeAnthropicServer()
    server.start()
    os.environ["ANTHROPIC_BASE_URL"] = server.base_url
    os.environ["ANTHROPIC_API_KEY"] = FAKE_KEY
    import anthropic  # after ANTHROPIC_BASE_URL points at the fake server

    client = anthropic.AsyncAnthropic(max_retries=0)
    runner = AgentRunner()
    bare_turn, agent_turn, bare_tps, agent_tps = [], [], [], []
    try:
        with temp_dir("agent") as root:
            task = root / "agent"
            data = task / "workspace" / "_DATA_FROM_USER"
            data.mkdir(parents=True)
            (data / "data.txt").write_text("a small file\n" * 20)
            (task / "results").mkdir()
            config = TaskConfig(executor="agent", tools=("read",), max_turns=turns + 1)
            request = RunRequest(
                "agent", "read it", config, task_dir=task, transcript=task / "results" / "t.jsonl"
            )
            stream = Stream([f"t{n} " for n in range(tokens)])
            plain = RunRequest("agent", "hi", TaskConfig(executor="agent", tools=()), task_dir=task)
            # Warm-up: imports, the first connection, the toolset's first use.
            _script(server, turns)
            await _bare_turns(client, task / "workspace", turns)
            _script(server, turns)
            await _agent_turns(runner, request, turns)
            for _ in range(reps):
                _script(server, turns)
                bare_turn.append(await _bare_turns(client, task / "workspace", turns) * 1000)
                _script(server, turns)
                agent_turn.append(await _agent_turns(runner, request, turns) * 1000)
                server.enqueue(stream, stream)
                bare_tps.append(await bare_sdk_stream(client, tokens))
                agent_tps.append(await _agent_stream(runner, plain, tokens))
            await runner.aclose()
    finally:
        await client.close()
        server.stop()
        make_safe_env()  # back to loopback's discard port, the fake key kept for later figures
    base_turn, ours_turn = Series(bare_turn, "ms"), Series(agent_turn, "ms")
    extra = ours_turn.median - base_turn.median
    base_tps, ours_tps = Series(bare_tps, "tok/s"), Series(agent_tps, "tok/s")
    ratio = ours_tps.median / base_tps.median
    return [
        report(
            Row(
                "agent: one turn (read tool)",
                ours_turn,
                base_turn,
                "bare tool runner",
                f"≤ bare + {TURN_BUDGET_MS:g} ms",
                extra <= TURN_BUDGET_MS,
                notes=[f"{extra:+.1f} ms a turn; {reps} reps of {turns} turns, interleaved"],
            )
        ),
        report(
            Row(
                "agent: streaming a final turn",
                ours_tps,
                base_tps,
                "bare SDK",
                "≥ 0.8× bare SDK",
                ratio >= 0.8,
                notes=[f"{ratio:.2f}× the bare SDK; {tokens} deltas"],
            )
        ),
    ]
