"""A worker killed mid-run (kill -9 of it and all it started): the run is lost, not re-run."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bassi_tui.executor.base import RunLost
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.remote import RemoteRunner
from tests.workers.runs import RUN_S, Collector, command_request, fresh_run_id, until
from tests.workers.server import (
    RedisServer,
    WorkerProcess,
    group_alive,
    kill_tree,
    start_worker,
)

#: The test's threshold: short so the test is quick (the default is 30 s).
LOST_AFTER = 2.0


@pytest.fixture
def doomed(redis_url: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    worker = start_worker(redis_url, "doomed", "wdoomed", tmp_path)
    yield worker
    worker.stop()


async def test_a_killed_worker_leaves_its_run_lost_and_never_reruns_it(
    link: WorkerLink, redis_url: str, tmp_path: Path, doomed: WorkerProcess
) -> None:
    ran = tmp_path / "ran.txt"
    run_id = fresh_run_id("lost")
    script = f"echo ran >> {ran}; echo pid=$$; sleep 60"
    runner = RemoteRunner(link, "doomed", lost_after=LOST_AFTER, poll=0.2)
    out = Collector()
    run = asyncio.ensure_future(runner.run(command_request(script, run_id), out))
    pgid = await out.pgid()

    kill_tree(doomed.proc.pid)  # the worker, its work-horse, the command and its sleep
    killed = time.monotonic()
    with pytest.raises(RunLost) as caught:
        await asyncio.wait_for(run, RUN_S)
    took = time.monotonic() - killed
    assert not group_alive(pgid)
    assert took < LOST_AFTER + 3, f"lost only after {took:.1f} s"
    message = caught.value.message
    assert message.startswith("lost: worker wdoomed on ")
    assert socket.gethostname() in message
    assert "stopped answering" in message
    assert not caught.value.transient
    assert caught.value.worker == f"wdoomed@{socket.gethostname()}"

    # The label has no live worker once the card expires (0.5 s beats here).
    assert await _eventually_dead(link, "doomed")

    # The worker comes back under its name at once (RQ's record of the dead one is dropped),
    # and RQ does not hand it the lost job again.
    newcomer = start_worker(redis_url, "doomed", "wdoomed", tmp_path / "again")
    try:
        await asyncio.sleep(2.0)  # time enough for a re-run to have begun
        assert ran.read_text().splitlines() == ["ran"]
        # Asking for the same attempt again (a restarted scheduler) finds it lost: not re-run.
        again = RemoteRunner(link, "doomed", lost_after=LOST_AFTER, poll=0.2)
        with pytest.raises(RunLost):
            await asyncio.wait_for(again.run(command_request(script, run_id), Collector()), RUN_S)
        assert ran.read_text().splitlines() == ["ran"]
    finally:
        newcomer.stop()


async def _eventually_dead(link: WorkerLink, label: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not await link.has_live_worker(label, fresh=True):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_run_whose_redis_goes_away_is_lost_on_both_sides(tmp_path: Path) -> None:
    """Redis killed mid-run: the scheduler says lost, and the work-horse stops the run too."""
    server = RedisServer(tmp_path / "redis").start()
    worker = start_worker(server.url, "island", "wisland", tmp_path)
    link = WorkerLink(server.url)
    try:
        runner = RemoteRunner(link, "island", lost_after=LOST_AFTER, poll=0.2)
        out = Collector()
        run = asyncio.ensure_future(runner.run(command_request("echo pid=$$; sleep 60"), out))
        pgid = await out.pgid()
        assert server.proc is not None
        server.proc.kill()
        with pytest.raises(RunLost) as caught:
            await asyncio.wait_for(run, RUN_S)
        assert "the workers' Redis stopped answering" in caught.value.message
        assert "wisland@" in caught.value.message
        await until(lambda: not group_alive(pgid), RUN_S, "the run's programs to stop")
    finally:
        await link.aclose()
        worker.stop()
        server.stop()
