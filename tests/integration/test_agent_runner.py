"""The agent executor against the fake Messages server and a real stdio MCP server.

The fake model's tool calls are scripted by the tools each request offers (found by their input
schema or description, never by a hard-coded list), so the tests prove what the SDK's real tool
runner and the real agent toolset do with them: files land in the workdir, a write outside it is
refused and the run goes on, bash is offered only when listed and is killed with its children,
an MCP server's tool answers, tokens add up over turns and no secret reaches the transcript.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bassi_tui.executor.agent_runner import AgentRunner
from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest
from bassi_tui.store.models import McpServer, TaskConfig, ToolName
from tests.fake_anthropic import (
    FAKE_KEY,
    FakeAnthropicServer,
    RecordedRequest,
    Stream,
    ToolTurn,
    Usage,
)

MCP_SERVER = """
from mcp.server.mcpserver import MCPServer

server = MCPServer("arith")


@server.tool(description="Multiply two integers and return the product")
def multiply(a: int, b: int) -> str:
    return str(a * b)


server.run()
"""


def tool_with(req: RecordedRequest, *fields: str) -> str:
    """The one offered tool whose input schema has all of ``fields``."""
    [name] = [
        t["name"]
        for t in req.tools
        if set(fields) <= set(t.get("input_schema", {}).get("properties", {}))
    ]
    return name


def write_call(path: str, content: str) -> Any:
    return lambda req: (
        tool_with(req, "file_path", "content"),
        {"file_path": path, "content": content},
    )


class Sink:
    def __init__(self) -> None:
        self.chunks: list[str] = []

    async def __call__(self, text: str) -> None:
        self.chunks.append(text)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def request(task: Path, **config: Any) -> RunRequest:
    settings: dict[str, Any] = {"executor": "agent", "max_turns": 6, **config}
    return RunRequest(
        task.name,
        "Do the work.",
        TaskConfig(**settings),
        task_dir=task,
        transcript=task / "results" / "run.transcript.jsonl",
    )


@pytest.fixture
def task(tmp_path: Path) -> Path:
    folder = tmp_path / "weekly"
    (folder / "results").mkdir(parents=True)
    (folder / "schedule.yaml").write_text("type: daily\ntime: '09:00'\n")
    (folder / "prompt.txt").write_text("Do the work.")
    return folder


@pytest.fixture
def runner() -> AgentRunner:
    return AgentRunner()


async def run(runner: AgentRunner, req: RunRequest, sink: Sink | None = None) -> AttemptResult:
    try:
        return await runner.run(req, sink or Sink())
    finally:
        await runner.aclose()


async def test_a_write_lands_in_results_from_agent(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    fake_anthropic.enqueue(
        ToolTurn(write_call("_RESULTS_FROM_AGENT/weekly_sales.txt", "sales: 42\n"), text="Saving."),
        Stream(["Saved the report."]),
    )
    sink = Sink()
    result = await run(runner, request(task), sink)
    saved = task / "workspace" / "_RESULTS_FROM_AGENT" / "weekly_sales.txt"
    assert saved.read_text() == "sales: 42\n"
    assert (task / "workspace" / "_DATA_FROM_USER").is_dir()
    assert sink.text == (
        "Saving.\n→ write _RESULTS_FROM_AGENT/weekly_sales.txt (10 B)\nSaved the report."
    )
    assert result.turns == 2
    assert [(f.path, f.bytes) for f in result.files] == [
        ("_RESULTS_FROM_AGENT/weekly_sales.txt", 10)
    ]


async def test_a_read_of_data_from_user_reaches_the_model(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    data = task / "workspace" / "_DATA_FROM_USER"
    data.mkdir(parents=True)
    (data / "leads.csv").write_text("name,deal\nada,9000\n")
    fake_anthropic.enqueue(
        ToolTurn(
            lambda req: (
                tool_with(req, "file_path", "view_range"),
                {"file_path": "_DATA_FROM_USER/leads.csv"},
            )
        ),
        Stream(["One lead."]),
    )
    await run(runner, request(task))
    [result] = fake_anthropic.requests[1].tool_results
    assert "ada,9000" in json.dumps(result["content"])
    assert not result.get("is_error")


@pytest.mark.parametrize("target", ["../schedule.yaml", "/etc/bassi-should-not-exist"])
async def test_a_write_outside_the_workdir_is_refused_and_the_run_goes_on(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path, target: str
) -> None:
    fake_anthropic.enqueue(ToolTurn(write_call(target, "pwned")), Stream(["Could not."]))
    result = await run(runner, request(task))
    [refused] = fake_anthropic.requests[1].tool_results
    assert refused.get("is_error") is True
    assert (task / "schedule.yaml").read_text() == "type: daily\ntime: '09:00'\n"
    assert not Path("/etc/bassi-should-not-exist").exists()
    assert result.stop_reason == "end_turn" and result.files == ()


async def test_the_tasks_own_files_are_refused_even_inside_an_allowed_path(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    fake_anthropic.enqueue(
        ToolTurn(write_call(str(task / "prompt.txt"), "Ignore all that.")), Stream(["No."])
    )
    await run(runner, request(task, allowed_paths=(".",)))  # the whole task folder reachable
    [refused] = fake_anthropic.requests[1].tool_results
    assert refused.get("is_error") is True
    assert (task / "prompt.txt").read_text() == "Do the work."


@pytest.mark.parametrize(
    ("tools", "offered"),
    [
        (None, {"read", "write", "edit", "glob", "grep"}),
        (("read", "bash"), {"read", "bash"}),
        ((), set()),
    ],
)
async def test_bash_is_offered_only_when_listed(
    fake_anthropic: FakeAnthropicServer,
    runner: AgentRunner,
    task: Path,
    tools: tuple[ToolName, ...] | None,
    offered: set[str],
) -> None:
    fake_anthropic.enqueue(Stream(["Nothing to do."]))
    await run(runner, request(task, **({} if tools is None else {"tools": tools})))
    assert set(fake_anthropic.requests[0].tool_names) == offered


async def test_max_turns_stops_the_run_as_failed_with_its_turns_recorded(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    fake_anthropic.enqueue(
        *(ToolTurn(write_call(f"step{i}.txt", "x"), usage=Usage(10, 5)) for i in range(3))
    )
    sink = Sink()
    with pytest.raises(ExecutorError) as failed:
        await run(runner, request(task, max_turns=2), sink)
    assert "max_turns: 2" in failed.value.message and not failed.value.transient
    assert failed.value.result is not None and failed.value.result.turns == 2
    assert len(fake_anthropic.requests) == 2  # no third turn was asked for
    # The second turn's call is not run: its result could never reach the model.
    workdir = task / "workspace"
    assert (workdir / "step0.txt").exists() and not (workdir / "step1.txt").exists()
    assert "→ write step1.txt (1 B) (not run: max_turns reached)" in sink.text
    assert [f.path for f in failed.value.result.files] == ["step0.txt"]


async def test_tokens_are_summed_over_turns(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    fake_anthropic.enqueue(
        ToolTurn(write_call("a.txt", "a"), usage=Usage(100, 20, 0, 80)),
        ToolTurn(write_call("b.txt", "b"), usage=Usage(30, 10, 80, 0)),
        Stream(["Done."], input_tokens=40, output_tokens=5, cache_read_input_tokens=110),
    )
    result = await run(runner, request(task))
    assert (result.input_tokens, result.output_tokens) == (170, 35)
    assert (result.cache_read_tokens, result.cache_write_tokens) == (190, 80)
    assert result.turns == 3


async def test_a_timeout_mid_tool_kills_bash_and_its_children(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    pid_file = task / "child.pid"
    command = f"sleep 60 & echo $! > {pid_file}; wait"
    fake_anthropic.enqueue(ToolTurn(lambda req: (tool_with(req, "command"), {"command": command})))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(3):
            await run(runner, request(task, tools=("bash",)))
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # reaping is the kernel's; this is a bounded look
    assert not os.path.exists(f"/proc/{child}")


async def test_an_mcp_servers_tool_is_offered_and_called(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path, tmp_path: Path
) -> None:
    script = tmp_path / "arith_server.py"
    script.write_text(MCP_SERVER)
    server = McpServer("arith", command=(sys.executable, str(script)))

    def multiply(req: RecordedRequest) -> tuple[str, dict[str, int]]:
        [name] = [t["name"] for t in req.tools if "Multiply" in (t.get("description") or "")]
        return name, {"a": 6, "b": 7}

    fake_anthropic.enqueue(ToolTurn(multiply), Stream(["It is 42."]))
    result = await run(runner, request(task, tools=(), mcp_servers=(server,)))
    [answer] = fake_anthropic.requests[1].tool_results
    assert "42" in json.dumps(answer["content"]) and not answer.get("is_error")
    assert result.turns == 2


async def test_nothing_secret_reaches_the_transcript(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    secret = "s3cr3t-token-value-77"
    fake_anthropic.enqueue(
        ToolTurn(
            lambda req: (
                tool_with(req, "command"),
                {"command": f"echo {secret}; echo $DB_TOKEN; echo ${{ANTHROPIC_API_KEY:-none}}"},
            )
        ),
        Stream([f"The token is {secret}."]),
    )
    await run(runner, request(task, tools=("bash",), environment={"DB_TOKEN": secret}))
    transcript = (task / "results" / "run.transcript.jsonl").read_text()
    turns = [json.loads(line) for line in transcript.splitlines()]
    assert [t["turn"] for t in turns] == [1, 2]
    assert turns[0]["tool_calls"][0]["input"]["command"].startswith("echo ***")
    assert "none" in turns[0]["tool_results"][0]["content"]  # bash never had the key
    assert secret not in transcript and FAKE_KEY not in transcript


async def test_a_workdir_that_cannot_be_made_fails_the_run_and_no_tool_runs(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    # A file where the workdir should be: it is made while the first request goes out, and
    # the tool call the model asks for must not run (nor the run pass) without it.
    (task / "workspace").write_text("not a folder")
    fake_anthropic.enqueue(
        ToolTurn(write_call("_RESULTS_FROM_AGENT/out.txt", "x"), text="Saving."),
        Stream(["Saved."]),
    )
    with pytest.raises(ExecutorError) as caught:
        await run(runner, request(task))
    assert caught.value.message.startswith("cannot create the workdir workspace")
    assert not caught.value.transient
    assert (task / "workspace").read_text() == "not a folder"
    assert len(fake_anthropic.requests) == 1  # the tool result was never sent back


async def test_a_workdir_that_cannot_be_made_fails_a_run_that_called_no_tool(
    fake_anthropic: FakeAnthropicServer, runner: AgentRunner, task: Path
) -> None:
    (task / "workspace").write_text("not a folder")
    fake_anthropic.enqueue(Stream(["Nothing to do."]))
    with pytest.raises(ExecutorError) as caught:
        await run(runner, request(task))
    assert caught.value.message.startswith("cannot create the workdir workspace")
