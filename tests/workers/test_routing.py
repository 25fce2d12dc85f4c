"""Runs go to the workers of their label, stream back live, and fail at once with no worker."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import pytest

from bassi_tui.executor.base import ExecutorError
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.remote import RemoteRunner
from tests.workers.runs import RUN_S, Collector, command_request, echo_request
from tests.workers.server import WorkerProcess, worker_argv

pytestmark = pytest.mark.usefixtures("workers")


@pytest.mark.parametrize("label", ["a", "b"])
async def test_a_run_goes_to_the_worker_of_its_label(link: WorkerLink, label: str) -> None:
    runner = RemoteRunner(link, label, poll=0.2)
    out = Collector()
    prompt = f"hello {label}\nsecond line\n"
    result = await asyncio.wait_for(runner.run(echo_request(prompt), out), RUN_S)
    assert result.worker == f"w{label}@{socket.gethostname()}"
    assert out.text == prompt
    assert result.model == "echo"
    assert result.output_tokens is not None and result.output_tokens > 0


async def test_output_arrives_while_the_run_goes_on(link: WorkerLink) -> None:
    runner = RemoteRunner(link, "b", poll=0.2)
    out = Collector()
    run = asyncio.ensure_future(runner.run(command_request("echo one; sleep 1.5; echo two"), out))
    await out.wait_first()
    assert not run.done(), "the first chunk came only with the end of the run"
    assert out.text == "one\n"
    result = await asyncio.wait_for(run, RUN_S)
    assert out.text == "one\ntwo\n"
    assert result.exit_code == 0
    assert len(out.chunks) == 2  # two writes, 1.5 s apart: two entries, not one at the end


async def test_a_failing_command_fails_the_attempt_as_locally(link: WorkerLink) -> None:
    runner = RemoteRunner(link, "a", poll=0.2)
    out = Collector()
    with pytest.raises(ExecutorError) as caught:
        await asyncio.wait_for(runner.run(command_request("echo partial; exit 3"), out), RUN_S)
    assert caught.value.transient
    assert "exited with code 3" in caught.value.message
    assert out.text == "partial\n"


async def test_a_label_with_no_live_worker_says_so(link: WorkerLink) -> None:
    assert await link.has_live_worker("a")
    assert not await link.has_live_worker("nobody")
    runner = RemoteRunner(link, "nobody", poll=0.2)
    with pytest.raises(ExecutorError) as caught:
        await asyncio.wait_for(runner.run(echo_request("hi\n"), Collector()), RUN_S)
    assert caught.value.transient
    assert "no live worker serves runs_on: nobody" in caught.value.message
    assert "bassi-tui worker --labels nobody" in caught.value.message


async def test_the_worker_runs_with_its_own_environment(link: WorkerLink) -> None:
    """config.yaml ``environment`` sends names only: the worker fills them from its own."""
    runner = RemoteRunner(link, "a", poll=0.2)
    out = Collector()
    request = command_request(
        'echo "token=$MY_TOKEN other=${OTHER:-unset}"',
        environment={"MY_TOKEN": "scheduler-value", "OTHER": "scheduler-other"},
    )
    await asyncio.wait_for(runner.run(request, out), RUN_S)
    assert out.text == "token=worker-side-token other=unset\n"


def test_workers_log_what_they_serve(workers: dict[str, WorkerProcess]) -> None:
    assert "worker wa on" in workers["a"].output()
    assert "serves a" in workers["a"].output()


def test_a_second_worker_of_the_same_name_is_refused(redis_url: str) -> None:
    done = subprocess.run(
        worker_argv(redis_url, "a", "wa"), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "a live worker is named wa already" in done.stderr
