"""The shared file tools act on the context of the attempt that calls them, never another's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bassi_tui.executor.agent_tools import bound, tools_for


async def _write_in(workdir: Path, content: str, started: asyncio.Barrier) -> str:
    from anthropic.lib.tools.agent_toolset import AgentToolContext

    async with AgentToolContext(workdir=str(workdir)) as ctx:
        [write] = tools_for(("write",), ctx)
        with bound(ctx):
            await started.wait()  # both attempts are bound before either writes
            result = await write.call({"file_path": "out.txt", "content": content})
    return str(result)


async def test_two_attempts_at_once_write_each_in_its_own_workdir(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    started = asyncio.Barrier(2)
    await asyncio.gather(_write_in(a, "from a", started), _write_in(b, "from b", started))
    assert (a / "out.txt").read_text() == "from a"
    assert (b / "out.txt").read_text() == "from b"


async def test_the_file_tools_are_built_once_and_bash_per_attempt(tmp_path: Path) -> None:
    from anthropic.lib.tools.agent_toolset import AgentToolContext

    async with (
        AgentToolContext(workdir=str(tmp_path)) as one,
        AgentToolContext(workdir=str(tmp_path)) as two,
    ):
        first, second = tools_for(("read", "bash"), one), tools_for(("read", "bash"), two)
    assert first[0] is second[0]
    assert first[1] is not second[1]


async def test_a_shared_tool_called_outside_an_attempt_is_refused(tmp_path: Path) -> None:
    from anthropic.lib.tools.agent_toolset import AgentToolContext

    async with AgentToolContext(workdir=str(tmp_path)) as ctx:
        [read] = tools_for(("read",), ctx)
    with pytest.raises(LookupError):
        await read.call({"file_path": "x.txt"})
