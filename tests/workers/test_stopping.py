"""A timeout or a cancel on the scheduler stops the run on the worker, and all it started."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis

from bassi_tui.executor.base import ExecutorError
from bassi_tui.workers.follow import Attempt
from bassi_tui.workers.keys import job_id_for, stream_key
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.remote import RemoteRunner
from tests.workers.runs import (
    DEAF_PID_THEN_SLEEP,
    PID_THEN_SLEEP,
    RUN_S,
    Collector,
    command_request,
    until,
)
from tests.workers.server import WorkerProcess, group_alive, start_worker

pytestmark = pytest.mark.usefixtures("workers")

#: Hang guard for a stopped run's processes to be gone; not a performance check.
GONE_S = 15.0


def _outcome_status(url: str, run_id: str) -> str | None:
    """The status the worker's ``end`` entry gave, if it wrote one."""
    client = redis.Redis.from_url(url)
    try:
        for _id, fields in client.xrange(stream_key(job_id_for(run_id, 1))):
            if b"end" in fields:
                import json

                return str(json.loads(fields[b"end"])["status"])
    finally:
        client.close()
    return None


async def test_a_timeout_stops_the_run_and_its_process_group(
    link: WorkerLink, redis_url: str
) -> None:
    runner = RemoteRunner(link, "a", poll=0.2)
    out = Collector()
    request = command_request(PID_THEN_SLEEP)
    run = asyncio.ensure_future(runner.run(request, out))
    pgid = await out.pgid()
    assert group_alive(pgid)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(run, 0.5)  # as the run path's timeout: cancels the awaiting run
    await until(lambda: not group_alive(pgid), GONE_S, "the command's process group to go")
    assert request.run_id is not None
    await until(lambda: _outcome_status(redis_url, request.run_id or "") == "stopped", GONE_S)


async def test_a_cancel_stops_a_run_deaf_to_sigterm(link: WorkerLink, redis_url: str) -> None:
    """The work-horse cancels its runner: the command executor's SIGTERM, then SIGKILL."""
    runner = RemoteRunner(link, "b", poll=0.2)
    out = Collector()
    request = command_request(DEAF_PID_THEN_SLEEP)
    run = asyncio.ensure_future(runner.run(request, out))
    pgid = await out.pgid()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, RUN_S)
    assert not group_alive(pgid), "the cancel returned before the run's programs were gone"
    assert _outcome_status(redis_url, request.run_id or "") == "stopped"


async def test_a_killed_work_horse_leaves_no_program_behind(
    link: WorkerLink, workers: dict[str, WorkerProcess]
) -> None:
    """No grace: RQ kills the work-horse at once; the worker (a subreaper) kills the orphans."""
    runner = RemoteRunner(link, "a", poll=0.2, stop_grace=0.0)
    out = Collector()
    run = asyncio.ensure_future(runner.run(command_request(DEAF_PID_THEN_SLEEP), out))
    pgid = await out.pgid()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, RUN_S)
    await until(lambda: not group_alive(pgid), GONE_S, "the orphaned process group to go")
    await until(lambda: "a run left behind" in workers["a"].output(), GONE_S, "the reaper's log")
    assert "stopped by user" in workers["a"].output()


async def test_a_worker_told_to_stop_ends_its_run_and_says_so(
    link: WorkerLink, redis_url: str, tmp_path: Path
) -> None:
    """SIGTERM to a worker (systemd's stop) stops the run now: a transient error, retried."""
    worker = start_worker(redis_url, "shutdown", "wshutdown", tmp_path)
    try:
        runner = RemoteRunner(link, "shutdown", poll=0.2)
        out = Collector()
        run = asyncio.ensure_future(runner.run(command_request(PID_THEN_SLEEP), out))
        pgid = await out.pgid()
        worker.proc.terminate()
        with pytest.raises(ExecutorError) as caught:
            await asyncio.wait_for(run, RUN_S)
        assert caught.value.transient
        assert "wshutdown" in caught.value.message
        assert "shutting down" in caught.value.message
        await until(lambda: worker.proc.poll() is not None, GONE_S, "the worker to exit")
        assert not group_alive(pgid)
        assert not await link.has_live_worker("shutdown", fresh=True)
    finally:
        worker.stop()


def test_attempt_defaults() -> None:
    attempt = Attempt("job", "a", 30.0, 1.0)
    assert attempt.last_id == "0-0" and not attempt.beat_seen


async def test_a_failing_output_sink_stops_the_run(link: WorkerLink, redis_url: str) -> None:
    """The result file cannot be written: the error is the caller's, the job stops."""
    runner = RemoteRunner(link, "b", poll=0.2)
    out = Collector()

    async def full_disk(text: str) -> None:
        await out(text)
        if "pid=" in out.text:
            raise OSError("No space left on device")

    request = command_request(PID_THEN_SLEEP)
    with pytest.raises(OSError, match="No space left"):
        await asyncio.wait_for(runner.run(request, full_disk), RUN_S)
    pgid = await out.pgid()
    await until(lambda: not group_alive(pgid), GONE_S, "the command's process group to go")
    await until(lambda: _outcome_status(redis_url, request.run_id or "") == "stopped", GONE_S)
