"""Tool use against the fake Messages server: the real SDK's async streaming tool runner.

These pin both the fake (ToolTurn, Usage, threads, strict mode) and the SDK behaviour the agent
executor builds on (see the docstring of tests/fake_anthropic.py): how turns, events, usage and
tool results flow, what max_iterations does, and how a cut-short run behaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.lib.tools import BetaAsyncFunctionTool, BetaAsyncStreamingToolRunner, beta_async_tool
from anthropic.lib.tools.agent_toolset import AgentToolContext, beta_agent_toolset_20260401
from anthropic.types.beta import BetaMessageParam, BetaThreadContinueParams
from anthropic.types.beta.parsed_beta_message import ParsedBetaMessage

from tests.fake_anthropic import (
    FakeAnthropicServer,
    Hang,
    RecordedRequest,
    Status,
    Stream,
    ToolCall,
    ToolTurn,
    Usage,
)

MODEL = "claude-test-model"  # not in the SDK's deprecation list, so no warning noise
API_KEY = "sk-ant-test-fake"
PROMPT: list[BetaMessageParam] = [{"role": "user", "content": "Do the thing."}]


@pytest.fixture
def server(fake_anthropic: FakeAnthropicServer) -> FakeAnthropicServer:
    """The fake, strict: a request the test did not script is an error, not a default reply."""
    fake_anthropic.strict = True
    return fake_anthropic


@pytest.fixture
async def client(server: FakeAnthropicServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    yield client
    await client.close()


class Adder:
    """An ``add`` tool that records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

        @beta_async_tool
        async def add(a: int, b: int) -> str:
            """Add two integers."""
            self.calls.append((a, b))
            return str(a + b)

        self.tool: BetaAsyncFunctionTool[Any] = add


@dataclass
class Turn:
    """One turn as the loop body saw it."""

    message: ParsedBetaMessage[Any]
    events: list[str] = field(default_factory=list)
    text: str = ""


def runner(
    client: anthropic.AsyncAnthropic,
    tools: list[BetaAsyncFunctionTool[Any]],
    *,
    max_iterations: int = 10,
    thread: bool = True,
) -> BetaAsyncStreamingToolRunner[Any]:
    return client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=512,
        messages=PROMPT,
        tools=tools,
        stream=True,
        max_iterations=max_iterations,
        thread=anthropic.omit if thread else False,
    )


async def run(tool_runner: BetaAsyncStreamingToolRunner[Any]) -> list[Turn]:
    """The recipe of the fake's docstring: every turn's events, text and final message."""
    turns: list[Turn] = []
    try:
        async for stream in tool_runner:
            turn_events: list[str] = []
            text = ""
            async for event in stream:
                turn_events.append(event.type)
                if event.type == "text":
                    text += event.text
            turns.append(Turn(await stream.get_final_message(), turn_events, text))
    finally:
        await tool_runner.close()
    return turns


def add_two_and_three(req: RecordedRequest) -> ToolCall:
    """Pick the adding tool from what the request offered."""
    [name] = [n for n in req.tool_names if n == "add"]
    return (name, {"a": 2, "b": 3})


async def test_a_scripted_call_runs_the_real_tool_and_its_result_goes_back(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(add_two_and_three), Stream(["Two and ", "three make five."]))

    turns = await run(runner(client, [adder.tool]))

    assert adder.calls == [(2, 3)]
    assert [t.message.stop_reason for t in turns] == ["tool_use", "end_turn"]
    [tool_use] = turns[0].message.content
    assert tool_use.type == "tool_use"
    assert (tool_use.name, tool_use.input) == ("add", {"a": 2, "b": 3})
    first, second = server.requests
    assert first.tool_results == []
    assert second.tool_results == [
        {"type": "tool_result", "tool_use_id": tool_use.id, "content": "5"}
    ]
    assert turns[1].text == "Two and three make five."
    assert server.pending() == 0


async def test_the_agent_write_tool_writes_the_file_in_the_workdir(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic, tmp_path: Path
) -> None:
    def write_by_schema(req: RecordedRequest) -> ToolCall:
        # Whichever offered tool takes a file_path and a whole content: the write tool.
        [name] = [
            t["name"]
            for t in req.tools
            if {"file_path", "content"} <= set(t["input_schema"].get("properties", {}))
        ]
        return (name, {"file_path": "notes/hello.txt", "content": "Hello, file.\n"})

    server.enqueue(ToolTurn(write_by_schema, text="Writing it."), Stream(["Written."]))
    async with AgentToolContext(workdir=tmp_path) as ctx:
        tools = [t for t in beta_agent_toolset_20260401(ctx) if t.name != "bash"]
        turns = await run(runner(client, tools))

    assert (tmp_path / "notes" / "hello.txt").read_text() == "Hello, file.\n"
    first, second = server.requests
    assert first.tool_names == ["read", "write", "edit", "glob", "grep"]  # bash not offered
    [result] = second.tool_results
    assert result["content"] == "wrote 13 bytes to notes/hello.txt"
    assert "is_error" not in result
    assert [t.text for t in turns] == ["Writing it.", "Written."]


async def test_a_write_outside_the_workdir_comes_back_as_an_error_result(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic, tmp_path: Path
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    server.enqueue(
        ToolTurn(("write", {"file_path": "../escaped.txt", "content": "x"})), Stream(["Sorry."])
    )
    async with AgentToolContext(workdir=workdir) as ctx:
        tools = [t for t in beta_agent_toolset_20260401(ctx) if t.name == "write"]
        turns = await run(runner(client, tools))

    assert not (tmp_path / "escaped.txt").exists()
    [result] = server.requests[1].tool_results
    assert result["is_error"] is True
    assert "write: " in str(result["content"])
    assert turns[-1].message.stop_reason == "end_turn"


async def test_the_events_of_a_text_and_tool_turn(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(
        ToolTurn(add_two_and_three, text=["Let me ", "add."], pieces=2), Stream(["Five."])
    )
    tool_runner = runner(client, [adder.tool])
    seen: list[tuple[str, Any]] = []
    try:
        async for stream in tool_runner:
            async for event in stream:
                if event.type == "text":
                    seen.append(("text", event.snapshot))
                elif event.type == "content_block_start":
                    block = event.content_block
                    seen.append(("start", (block.type, getattr(block, "name", None))))
                elif event.type == "input_json":
                    seen.append(("input_json", event.snapshot))
                elif event.type == "content_block_stop":
                    seen.append(("stop", getattr(event.content_block, "input", None)))
                elif event.type == "message_delta":
                    seen.append(("delta", (event.delta.stop_reason, event.usage.output_tokens)))
                elif event.type == "message_stop":
                    seen.append(("message_stop", len(event.message.content)))
            break  # the first turn is enough
    finally:
        await tool_runner.close()

    assert seen == [
        ("start", ("text", None)),
        ("text", "Let me "),
        ("text", "Let me add."),
        ("stop", None),
        ("start", ("tool_use", "add")),
        ("input_json", {}),  # the empty first piece
        ("input_json", {"a": 2}),
        ("input_json", {"a": 2, "b": 3}),
        ("stop", {"a": 2, "b": 3}),
        ("delta", ("tool_use", 7)),
        ("message_stop", 2),
    ]
    assert adder.calls == []  # a break before the next turn runs no tool
    assert len(server.requests) == 1


async def test_usage_per_turn_is_as_scripted(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(
        ToolTurn(add_two_and_three, usage=Usage(100, 20, 0, 80)),
        ToolTurn(add_two_and_three, usage=Usage(30, 15, 80, 5)),
        Stream(["Done."], input_tokens=12, output_tokens=3, cache_read_input_tokens=85),
    )

    turns = await run(runner(client, [adder.tool]))

    usage = [
        (
            u.input_tokens,
            u.output_tokens,
            u.cache_read_input_tokens,
            u.cache_creation_input_tokens,
        )
        for u in (t.message.usage for t in turns)
    ]
    assert usage == [(100, 20, 0, 80), (30, 15, 80, 5), (12, 3, 85, None)]
    assert [sum(u[i] or 0 for u in usage) for i in range(4)] == [142, 38, 165, 85]


@pytest.mark.parametrize(
    ("script", "says"),
    [
        (lambda req: ("bash", {"command": "ls"}), "'bash', which the request did not offer"),
        (lambda req: req.tool_names[5], "IndexError"),
        (lambda req: [], "made no tool call"),
    ],
    ids=["tool not offered", "script raises", "no call"],
)
async def test_a_script_that_cannot_be_answered_fails_clearly(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic, script: Any, says: str
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(script))

    with pytest.raises(anthropic.BadRequestError, match="fake Anthropic server") as caught:
        await run(runner(client, [adder.tool]))

    assert says in str(caught.value)
    [error] = server.script_errors
    assert says in error
    assert adder.calls == []


async def test_a_call_to_an_unknown_tool_gets_the_sdk_error_result(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(("bash", {"command": "ls"}), offered_only=False), Stream(["I see."]))

    with pytest.warns(UserWarning, match="Tool 'bash' not found"):
        await run(runner(client, [adder.tool]))

    [result] = server.requests[1].tool_results
    assert result["is_error"] is True
    assert result["content"] == "Error: Tool 'bash' not found"


async def test_tool_results_seen_in_the_loop_body_are_the_ones_sent_and_run_once(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(add_two_and_three), Stream(["ok"]))
    tool_runner = runner(client, [adder.tool])
    seen: list[Any] = []
    try:
        async for stream in tool_runner:
            await stream.get_final_message()
            response = await tool_runner.generate_tool_call_response()
            seen.append(None if response is None else response["content"])
            seen.append(list(adder.calls))
    finally:
        await tool_runner.close()

    [result] = server.requests[1].tool_results
    assert seen == [[result], [(2, 3)], None, [(2, 3)]]
    assert adder.calls == [(2, 3)]


async def test_tool_calls_of_a_turn_that_did_not_stop_for_tools_are_not_run(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(add_two_and_three, stop_reason="max_tokens"))

    turns = await run(runner(client, [adder.tool]))

    assert [t.message.stop_reason for t in turns] == ["max_tokens"]
    assert adder.calls == []
    assert len(server.requests) == 1


async def test_max_iterations_stops_the_loop_after_that_many_requests(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(*(ToolTurn(add_two_and_three) for _ in range(4)))

    turns = await run(runner(client, [adder.tool], max_iterations=2))

    assert len(turns) == 2
    assert len(server.requests) == 2
    assert server.pending() == 2
    assert turns[-1].message.stop_reason == "tool_use"  # cut off, not finished
    # The last turn's tool still ran, though its result was never sent.
    assert adder.calls == [(2, 3), (2, 3)]


async def test_a_thread_sends_only_the_new_messages_and_the_fake_keeps_its_tools(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(add_two_and_three), ToolTurn(add_two_and_three), Stream(["ok"]))

    turns = await run(runner(client, [adder.tool]))

    first, second, third = server.requests
    assert first.thread == {"type": "create"}
    assert "message-threads-" in first.headers["anthropic-beta"]
    assert second.thread == {"type": "continue", "previous_message_id": turns[0].message.id}
    assert third.thread == {"type": "continue", "previous_message_id": turns[1].message.id}
    assert "tools" not in second.body and "tools" not in third.body
    assert second.tool_names == third.tool_names == ["add"]  # held by the thread
    assert [len(r.messages) for r in server.requests] == [1, 1, 1]
    assert [len(r.history) for r in server.requests] == [1, 3, 5]
    assert [m["role"] for m in third.history] == ["user", "assistant", "user", "assistant", "user"]


async def test_without_a_thread_every_request_carries_the_tools_and_the_whole_history(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(add_two_and_three), Stream(["ok"]))

    await run(runner(client, [adder.tool], thread=False))

    first, second = server.requests
    assert first.thread is None and second.thread is None
    assert second.body["tools"] == first.body["tools"]
    assert [m["role"] for m in second.messages] == ["user", "assistant", "user"]
    assert second.tool_results[0]["content"] == "5"


async def test_a_lost_thread_is_replayed_in_full_without_running_the_tool_again(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(
        ToolTurn(add_two_and_three),
        Status(400, message="no such thread", error_code="thread_not_found"),
        Stream(["ok"]),
    )

    turns = await run(runner(client, [adder.tool]))

    _, lost, replay = server.requests
    assert lost.thread is not None and lost.thread["type"] == "continue"
    assert replay.thread == {"type": "create"}
    assert replay.tool_names == ["add"]
    assert [m["role"] for m in replay.messages] == ["user", "assistant", "user"]
    assert adder.calls == [(2, 3)]
    assert turns[-1].text == "ok"


async def test_the_fake_rejects_a_continue_of_an_unknown_reply_without_using_the_script(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    server.enqueue(Stream(["kept"]))

    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.beta.messages.create(
            model=MODEL,
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
            thread={"type": "continue", "previous_message_id": "msg_unknown"},
        )

    body: Any = caught.value.body
    assert body["error"]["details"]["error_code"] == "thread_not_found"
    assert server.pending() == 1


async def test_the_fake_rejects_a_second_continue_of_the_same_reply(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    server.enqueue(Stream(["one"]), Stream(["two"]), Stream(["kept"]))
    hi: list[BetaMessageParam] = [{"role": "user", "content": "hi"}]
    first = await client.beta.messages.create(
        model=MODEL, max_tokens=16, messages=hi, thread={"type": "create"}
    )
    again: list[BetaMessageParam] = [{"role": "user", "content": "again"}]
    follow: BetaThreadContinueParams = {"type": "continue", "previous_message_id": first.id}
    await client.beta.messages.create(
        model=MODEL,
        max_tokens=16,
        messages=again,
        thread=follow,
    )

    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.beta.messages.create(
            model=MODEL,
            max_tokens=16,
            messages=again,
            thread=follow,
        )

    body: Any = caught.value.body
    assert body["error"]["details"]["error_code"] == "thread_already_continued"
    assert [m["content"] for m in server.requests[1].history] == ["hi", [_text("one")], "again"]
    assert server.pending() == 1


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


async def test_a_hang_after_a_tool_turn_can_be_cancelled(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    hang = Hang()
    server.enqueue(ToolTurn(add_two_and_three), hang)
    tool_runner = runner(client, [adder.tool])
    task = asyncio.create_task(run(tool_runner))

    assert await asyncio.to_thread(hang.entered.wait, 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert adder.calls == [(2, 3)]
    assert len(server.requests) == 2
    assert server.requests[1].tool_results[0]["content"] == "5"
    assert [item async for item in tool_runner] == []  # closed: yields nothing more


async def test_cancelling_during_a_tool_sends_no_result(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    started = asyncio.Event()
    never = asyncio.Event()

    @beta_async_tool
    async def wait_for(seconds: int) -> str:
        """Wait."""
        started.set()
        await never.wait()
        return "waited"

    server.enqueue(ToolTurn(lambda req: ("wait_for", {"seconds": 9})), Stream(["unused"]))
    task = asyncio.create_task(run(runner(client, [wait_for])))

    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(server.requests) == 1
    assert server.pending() == 1


async def test_a_stream_dropped_mid_call_raises_and_runs_no_tool(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(add_two_and_three, drop_after_pieces=1))

    with pytest.raises(anthropic.APIConnectionError):
        await run(runner(client, [adder.tool]))

    assert adder.calls == []
    assert len(server.requests) == 1


async def test_the_json_shape_when_the_runner_does_not_stream(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(
        ToolTurn(add_two_and_three, text="Adding.", usage=Usage(40, 9, 30, 2)),
        Stream(["Five."], input_tokens=11, output_tokens=2),
    )
    tool_runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=512,
        messages=PROMPT,
        tools=[adder.tool],
    )

    messages = [message async for message in tool_runner]

    assert all("stream" not in r.body for r in server.requests)
    assert [m.stop_reason for m in messages] == ["tool_use", "end_turn"]
    assert [b.type for b in messages[0].content] == ["text", "tool_use"]
    usage = messages[0].usage
    assert (usage.input_tokens, usage.output_tokens) == (40, 9)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (30, 2)
    assert (messages[1].usage.input_tokens, messages[1].usage.output_tokens) == (11, 2)
    assert adder.calls == [(2, 3)]


async def test_an_empty_queue_fails_clearly_when_strict_and_says_hello_when_not(
    server: FakeAnthropicServer, client: anthropic.AsyncAnthropic
) -> None:
    adder = Adder()
    server.enqueue(ToolTurn(add_two_and_three))

    with pytest.raises(anthropic.BadRequestError, match="no scripted reply left for request #2"):
        await run(runner(client, [adder.tool]))

    server.strict = False
    server.enqueue(ToolTurn(add_two_and_three))
    turns = await run(runner(client, [adder.tool]))
    assert turns[-1].text == "Hello, world!"
