"""An attempt is handed to a worker at most once: a second caller follows the first's job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis

from bassi_tui.executor.base import ExecutorError
from bassi_tui.workers.keys import job_id_for, stream_key
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.remote import RemoteRunner
from tests.workers.runs import RUN_S, Collector, command_request, fresh_run_id, until

pytestmark = pytest.mark.usefixtures("workers")


async def test_two_calls_with_one_run_id_run_one_job(link: WorkerLink, tmp_path: Path) -> None:
    ran = tmp_path / "ran.txt"
    run_id = fresh_run_id("once")
    script = f"echo ran >> {ran}; echo one; sleep 0.5; echo two"
    first, second = RemoteRunner(link, "a", poll=0.2), RemoteRunner(link, "a", poll=0.2)
    out1, out2 = Collector(), Collector()
    results = await asyncio.wait_for(
        asyncio.gather(
            first.run(command_request(script, run_id), out1),
            second.run(command_request(script, run_id), out2),
        ),
        RUN_S,
    )
    assert ran.read_text().splitlines() == ["ran"]
    assert out1.text == out2.text == "one\ntwo\n"
    assert results[0] == results[1]

    # A restarted scheduler asking again: the job's outcome and output, replayed; no new run.
    third = RemoteRunner(link, "a", poll=0.2)
    out3 = Collector()
    again = await asyncio.wait_for(third.run(command_request(script, run_id), out3), RUN_S)
    assert again == results[0]
    assert out3.text == "one\ntwo\n"
    assert ran.read_text().splitlines() == ["ran"]

    # The next attempt of the same run is a job of its own.
    retry = command_request(script, run_id)
    retry = type(retry)(**{**_fields(retry), "attempt": 2})
    await asyncio.wait_for(first.run(retry, Collector()), RUN_S)
    assert ran.read_text().splitlines() == ["ran", "ran"]


async def test_an_attempt_whose_job_expired_is_not_handed_over_again(
    link: WorkerLink, redis_url: str
) -> None:
    run_id = fresh_run_id("expired")
    runner = RemoteRunner(link, "b", poll=0.2)
    await asyncio.wait_for(runner.run(command_request("echo hi", run_id), Collector()), RUN_S)
    job_id = job_id_for(run_id, 1)
    client = redis.Redis.from_url(redis_url)
    try:  # as if RESULT_TTL had passed: RQ's job and the output stream are gone
        # (RQ records the job finished just after the outcome reached the stream)
        await until(lambda: client.hget(f"rq:job:{job_id}", "status") == b"finished", RUN_S)
        client.delete(f"rq:job:{job_id}", f"rq:results:{job_id}", stream_key(job_id))
    finally:
        client.close()
    with pytest.raises(ExecutorError) as caught:
        await asyncio.wait_for(runner.run(command_request("echo hi", run_id), Collector()), RUN_S)
    assert not caught.value.transient
    assert "not handed over again" in caught.value.message


def _fields(request: object) -> dict[str, object]:
    return {name: getattr(request, name) for name in request.__slots__}  # type: ignore[attr-defined]
