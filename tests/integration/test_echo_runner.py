"""The offline echo executor and the runner registry."""

from __future__ import annotations

import pytest

from bassi_tui.executor.agent_runner import AgentRunner
from bassi_tui.executor.anthropic_runner import AnthropicRunner
from bassi_tui.executor.base import RunRequest
from bassi_tui.executor.command_runner import CommandRunner
from bassi_tui.executor.echo_runner import EchoRunner
from bassi_tui.executor.runners import RUNNER_NAMES, get_runner
from bassi_tui.store.models import TaskConfig

PROMPT = "Line one\nLine two {not a var}\n\nlast line without newline"


async def test_echo_streams_the_prompt_line_by_line() -> None:
    chunks: list[str] = []

    async def sink(text: str) -> None:
        chunks.append(text)

    result = await EchoRunner().run(RunRequest("t", PROMPT, TaskConfig(executor="echo")), sink)
    assert chunks == ["Line one\n", "Line two {not a var}\n", "\n", "last line without newline"]
    assert "".join(chunks) == PROMPT
    assert result.model == "echo"
    assert result.output_tokens is not None and 0 < result.output_tokens < len(PROMPT)
    assert result.exit_code is None


async def test_echo_of_an_empty_prompt_sends_nothing() -> None:
    chunks: list[str] = []

    async def sink(text: str) -> None:
        chunks.append(text)

    result = await EchoRunner().run(RunRequest("t", "", TaskConfig()), sink)
    assert chunks == []
    assert result.output_tokens == 0


def test_get_runner_returns_one_shared_instance_per_name() -> None:
    assert RUNNER_NAMES == ("agent", "anthropic", "command", "echo")
    expected = {
        "agent": AgentRunner,
        "anthropic": AnthropicRunner,
        "command": CommandRunner,
        "echo": EchoRunner,
    }
    for name, cls in expected.items():
        runner = get_runner(name)
        assert isinstance(runner, cls)
        assert runner.name == name
        assert get_runner(name) is runner


def test_get_runner_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown executor 'openai'"):
        get_runner("openai")
