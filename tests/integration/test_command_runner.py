"""The command executor against real processes (sh, cat, sleep)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bassi_tui.executor import command_runner
from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest
from bassi_tui.executor.command_runner import CommandRunner
from bassi_tui.executor.retry import run_with_retries
from bassi_tui.store.models import TaskConfig


class Sink:
    """Collects streamed chunks."""

    def __init__(self) -> None:
        self.chunks: list[str] = []

    async def __call__(self, text: str) -> None:
        self.chunks.append(text)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def request(
    *argv: str, prompt: str = "", env: dict[str, str] | None = None, **config: object
) -> RunRequest:
    cfg = TaskConfig(executor="command", command=tuple(argv), **config)  # type: ignore[arg-type]
    return RunRequest("t", prompt, cfg, env=env or {})


async def run(req: RunRequest, sink: Sink | None = None) -> AttemptResult:
    return await CommandRunner().run(req, sink or Sink())


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (dead, not yet reaped by init) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def gone(*pids: int, within: float = 5.0) -> bool:
    """Wait (polling, bounded) for every pid to stop running."""
    async with asyncio.timeout(within):
        while any(alive(pid) for pid in pids):
            await asyncio.sleep(0.02)
    return True


async def test_stdout_streams_as_it_arrives() -> None:
    sink = Sink()
    result = await run(request("sh", "-c", "printf a; sleep 0.2; printf b"), sink)
    assert sink.chunks == ["a", "b"]
    assert result.exit_code == 0


async def test_the_prompt_arrives_on_stdin_even_when_large() -> None:
    prompt = "línea {date}\n" * 100_000  # > 1 MB: would deadlock if stdin were written first
    sink = Sink()
    await run(request("cat", prompt=prompt), sink)
    assert sink.text == prompt


async def test_a_character_split_across_reads_is_decoded_whole() -> None:
    sink = Sink()
    await run(request("sh", "-c", r"printf '\303'; sleep 0.2; printf '\251 \377'"), sink)
    assert sink.text == "é \ufffd"  # the invalid byte is replaced, never an exception


async def test_nonzero_exit_is_a_retryable_error_with_the_stderr_tail() -> None:
    script = "echo partial; head -c 10000 /dev/zero | tr '\\0' x >&2; echo ' oops' >&2; exit 3"
    sink = Sink()
    with pytest.raises(ExecutorError) as caught:
        await run(request("sh", "-c", script), sink)
    error = caught.value
    assert error.transient  # a failure like any other: retry_on_failure decides
    assert error.message.startswith("command exited with code 3: ")
    assert error.message.endswith("oops")
    assert len(error.message) < command_runner.STDERR_TAIL_BYTES + 100
    assert sink.text == "partial\n"


async def test_a_command_that_fails_twice_then_succeeds_is_retried(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    # Counts its runs in a file; fails (exit 1) on the first two, succeeds on the third.
    script = (
        f'n=$(cat "{counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{counter}"; '
        'if [ $n -lt 3 ]; then echo "flaky $n" >&2; exit 1; fi; printf "ok on %s" $n'
    )
    sink = Sink()
    failures: list[tuple[int, str]] = []

    async def attempt(n: int) -> AttemptResult:
        sink.chunks.clear()
        return await run(request("sh", "-c", script), sink)

    result = await run_with_retries(
        attempt,
        max_retries=3,
        base_delay=0.001,
        on_retry=lambda n, err, delay: failures.append((n, err.message)),
    )
    assert result.exit_code == 0
    assert sink.text == "ok on 3"
    assert failures == [
        (1, "command exited with code 1: flaky 1"),
        (2, "command exited with code 1: flaky 2"),
    ]


async def test_retry_on_failure_false_runs_a_failing_command_once(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    with pytest.raises(ExecutorError) as caught:
        await run_with_retries(
            lambda n: run(request("sh", "-c", f'echo x >> "{counter}"; exit 1')),
            max_retries=3,
            base_delay=0.001,
            enabled=False,
        )
    assert caught.value.attempts == 1
    assert counter.read_text() == "x\n"


async def test_a_missing_program_is_a_permanent_error() -> None:
    with pytest.raises(ExecutorError) as caught:
        await run(request("bassi-no-such-program", "-p"))
    assert not caught.value.transient
    assert caught.value.message.startswith("command not found: bassi-no-such-program")


async def test_an_empty_command_says_what_to_write() -> None:
    with pytest.raises(ExecutorError, match="needs a `command:` list"):
        await run(request())


async def test_environment_from_request_and_config_is_applied() -> None:
    env = {"BASSI_A": "from-request", "BASSI_B": "from-request"}
    req = request(
        "sh",
        "-c",
        'printf "%s %s %s" "$BASSI_A" "$BASSI_B" "$PATH"',
        env=env,
        environment={"BASSI_B": "from-config"},
    )
    sink = Sink()
    await run(req, sink)
    assert sink.text == f"from-request from-config {os.environ['PATH']}"


async def test_environment_values_never_reach_the_error_message() -> None:
    secret = "hunter2-very-secret"
    req = request("sh", "-c", 'echo "token=$TOKEN" >&2; exit 1', environment={"TOKEN": secret})
    with pytest.raises(ExecutorError) as caught:
        await run(req)
    assert secret not in str(caught.value)
    assert "token=***" in caught.value.message


FAKE_KEY = "sk-ant-test-0123456789abcdef"  # a made-up key; a real one never appears in tests


async def test_the_inherited_api_key_never_reaches_the_error_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    req = request("sh", "-c", 'echo "key is $ANTHROPIC_API_KEY." >&2; exit 1')
    with pytest.raises(ExecutorError) as caught:
        await run(req)
    assert FAKE_KEY not in str(caught.value)
    assert caught.value.message == "command exited with code 1: key is ***."


async def test_a_key_cut_by_the_stderr_tail_leaves_no_piece_of_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    # The tail keeps the last STDERR_TAIL_BYTES: the key's first 10 characters fall outside.
    after = command_runner.STDERR_TAIL_BYTES - (len(FAKE_KEY) - 10)
    script = (
        f'printf "%s" "$ANTHROPIC_API_KEY" >&2; head -c {after} /dev/zero | tr "\\0" y >&2; exit 1'
    )
    with pytest.raises(ExecutorError) as caught:
        await run(request("sh", "-c", script))
    message = caught.value.message
    assert FAKE_KEY[10:] not in message and FAKE_KEY[-4:] not in message
    assert message.startswith("command exited with code 1: ***yyy")


async def test_a_timeout_kills_the_whole_process_group() -> None:
    sink = Sink()
    # sh prints its own pid and its background child's, then waits on the child.
    req = request("sh", "-c", "sleep 60 & echo $$ $!; wait")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await run(req, sink)
    pids = [int(p) for p in sink.text.split()]
    assert len(pids) == 2
    assert await gone(*pids)


async def test_a_child_that_ignores_sigterm_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command_runner, "KILL_GRACE", 0.2)
    sink = Sink()
    req = request("sh", "-c", "trap '' TERM; sleep 60 & echo $$ $!; wait")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await run(req, sink)
    assert await gone(*[int(p) for p in sink.text.split()])


async def test_a_failing_sink_stops_the_process_and_surfaces_as_itself() -> None:
    pids: list[int] = []

    async def sink(text: str) -> None:
        pids.extend(int(p) for p in text.split())
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        await CommandRunner().run(request("sh", "-c", "sleep 60 & echo $$ $!; wait"), sink)
    assert await gone(*pids)
