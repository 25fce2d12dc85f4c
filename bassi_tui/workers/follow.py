"""Following one handed-over attempt from the scheduler: its output, its end, or its loss.

The output stream is read from its first entry (an attempt attached to after a restart is
replayed whole), blocking at most ``poll`` seconds at a time; between reads, and at least every
``poll`` seconds, the job is looked at (RQ's status, the attempt's heartbeat):

- waiting in the queue: fine while a live worker serves the label; with none, the job is taken
  back out of the queue (so it never runs) and the attempt fails, transient, saying so.
- running with a heartbeat: fine. Without one for ``lost_after`` seconds (it expired, or never
  came since the job started): :class:`~bassi_tui.executor.base.RunLost`.
- finished, failed, gone: the stream is read to its end first (the work-horse writes the
  ``end`` entry before anything else changes), then RQ is asked for what the stream lacks.

Once handed over, an attempt is never failed as *transient* because of Redis: the run path
would try a new attempt while the first may still be running. Redis unreachable for
``lost_after`` seconds makes the attempt lost, as a silent worker does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from rq.job import Job

from bassi_tui.executor.base import AttemptResult, ExecutorError, RunLost, TextSink
from bassi_tui.workers.keys import RESULT_TTL, beat_key, stop_key, stream_key
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.liveness import describe
from bassi_tui.workers.payload import error_from_data, result_from_data

__all__ = ["Attempt", "follow", "no_live_worker"]

_WAITING = {"queued", "deferred", "scheduled"}
_READ_COUNT = 256


def no_live_worker(label: str) -> str:
    """What a run says when no worker serves its label."""
    return (
        f"no live worker serves runs_on: {label} — start one on a host that should run it: "
        f"bassi-tui worker --labels {label}"
    )


class _SinkFailed(Exception):
    """``on_text`` raised ``error``: carried past the Redis error handling, then re-raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(slots=True)
class Attempt:
    """What the scheduler knows of one handed-over attempt while it follows it."""

    job_id: str
    label: str
    lost_after: float
    poll: float
    #: The last stream entry relayed ("0-0": none yet).
    last_id: bytes | str = "0-0"
    #: When the job was first seen running with no heartbeat yet (monotonic).
    silent_since: float | None = None
    #: A heartbeat has been seen: its absence now means the worker stopped answering.
    beat_seen: bool = False
    #: ``name@host`` of the worker, from its heartbeat.
    worker: str | None = None


async def follow(link: WorkerLink, attempt: Attempt, on_text: TextSink) -> AttemptResult:
    """Relay the attempt's output to ``on_text`` until it ends; its result, or its error."""
    stream = stream_key(attempt.job_id)
    next_look = time.monotonic()
    failing_since: float | None = None
    while True:
        try:
            wait_ms = max(1, min(attempt.poll, next_look - time.monotonic()) * 1000)
            reply = await link.aio.xread(
                {stream: attempt.last_id}, count=_READ_COUNT, block=int(wait_ms)
            )
            outcome = await _relay(reply, attempt, on_text)
            if outcome is None and time.monotonic() >= next_look:
                outcome = await _look(link, attempt, on_text)
                next_look = time.monotonic() + attempt.poll
            failing_since = None
        except _SinkFailed as failed:
            raise failed.error from None
        except (RedisError, OSError) as exc:
            # Handed over, the attempt may well go on: a new attempt now could run twice.
            # Redis gets as long as a silent worker would; then the run is lost.
            now = time.monotonic()
            failing_since = failing_since if failing_since is not None else now
            if now - failing_since >= attempt.lost_after:
                raise RunLost(
                    f"lost: the workers' Redis stopped answering for {attempt.lost_after:g} s "
                    f"({exc}); what the run did on {attempt.worker or 'its worker'} is unknown",
                    worker=attempt.worker,
                ) from exc
            await asyncio.sleep(min(attempt.poll, 0.5))
            continue
        if outcome is not None:
            return conclude(outcome, attempt)


async def _relay(reply: Any, attempt: Attempt, on_text: TextSink) -> dict[str, Any] | None:
    """Pass the entries of an XREAD reply on; the outcome when the ``end`` entry was among them."""
    for _stream, entries in reply or ():
        for entry_id, fields in entries:
            attempt.last_id = entry_id
            if (text := fields.get(b"t")) is not None:
                try:
                    await on_text(text.decode("utf-8", errors="replace"))
                except Exception as exc:  # the caller's, not Redis': passed on untouched
                    raise _SinkFailed(exc) from exc
            elif (worker := fields.get(b"w")) is not None:
                attempt.worker = worker.decode("utf-8", errors="replace")
            elif (end := fields.get(b"end")) is not None:
                outcome: dict[str, Any] = json.loads(end)
                return outcome
    return None


async def _drain(link: WorkerLink, attempt: Attempt, on_text: TextSink) -> dict[str, Any] | None:
    """Relay what the stream holds past the last entry, without waiting; the outcome if any."""
    stream = stream_key(attempt.job_id)
    while reply := await link.aio.xread({stream: attempt.last_id}, count=_READ_COUNT):
        if (outcome := await _relay(reply, attempt, on_text)) is not None:
            return outcome
    return None


async def _look(link: WorkerLink, attempt: Attempt, on_text: TextSink) -> dict[str, Any] | None:
    """Look at the job; None while it may go on, its outcome when it has one, or raise."""
    async with link.aio.pipeline(transaction=False) as pipe:
        pipe.hmget(Job.key_for(attempt.job_id), ["status", "worker_name"])
        pipe.get(beat_key(attempt.job_id))
        (raw_status, raw_worker), beat = await pipe.execute()
    status = raw_status.decode() if raw_status is not None else None
    if beat is not None:
        attempt.beat_seen, attempt.silent_since = True, None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            attempt.worker = str(json.loads(beat)["worker"])
        return None
    if status in _WAITING:
        if not await link.has_live_worker(attempt.label) and await link.take_back(
            attempt.label, attempt.job_id
        ):
            raise ExecutorError(no_live_worker(attempt.label), transient=True)
        return None
    if status == "started":
        now = time.monotonic()
        if attempt.silent_since is None:
            attempt.silent_since = now
        if attempt.beat_seen or now - attempt.silent_since >= attempt.lost_after:
            if (outcome := await _drain(link, attempt, on_text)) is not None:
                return outcome  # it ended between the two looks
            worker = raw_worker.decode() if raw_worker else None
            raise await _lost(link, attempt, worker)
        return None
    # Over (finished, failed, stopped, canceled) or gone: the stream first.
    if (outcome := await _drain(link, attempt, on_text)) is not None:
        return outcome
    return await _ended_quietly(link, attempt, status, raw_worker)


async def _ended_quietly(
    link: WorkerLink, attempt: Attempt, status: str | None, raw_worker: bytes | None
) -> dict[str, Any]:
    """The outcome of a job that is over but left no ``end`` entry, or the error that says why."""
    if status == "finished":
        value = await link.job_return(attempt.job_id)
        if isinstance(value, dict) and "status" in value:
            return value
        raise ExecutorError("the worker's job finished but sent no outcome", transient=False)
    if status is None:
        raise ExecutorError(
            "this attempt was handed to a worker before, and Redis no longer has its job or its "
            "output (expired or deleted): it is not handed over again",
            transient=False,
        )
    worker = raw_worker.decode() if raw_worker else None
    if status == "failed":
        why = await link.job_failure(attempt.job_id)
        who = await _who(link, attempt, worker)
        raise RunLost(f"lost: the work-horse of {who} died: {why}", worker=attempt.worker)
    # stopped or canceled, by someone other than this runner (it re-raises its own cancel)
    raise ExecutorError(f"the worker's job was {status} from outside the run", transient=True)


async def _who(link: WorkerLink, attempt: Attempt, worker: str | None) -> str:
    if attempt.worker is not None:
        name, _, host = attempt.worker.rpartition("@")
        return f"worker {name} on {host}"
    if worker:
        return describe(await link.worker_info(worker), worker)
    return "its worker"


async def _lost(link: WorkerLink, attempt: Attempt, worker: str | None) -> RunLost:
    """The error for a silent attempt; the job is told to stop, should it still be running."""
    who = await _who(link, attempt, worker)
    with contextlib.suppress(RedisError, OSError):
        async with link.aio.pipeline(transaction=False) as pipe:
            pipe.lpush(stop_key(attempt.job_id), "lost: its heartbeat stopped reaching Redis")
            pipe.expire(stop_key(attempt.job_id), RESULT_TTL)
            await pipe.execute()
        await link.stop_job(attempt.job_id)
    return RunLost(
        f"lost: {who} stopped answering (no heartbeat for {attempt.lost_after:g} s); "
        "what the run did there is unknown",
        worker=attempt.worker or worker,
    )


def conclude(outcome: dict[str, Any], attempt: Attempt) -> AttemptResult:
    """The attempt's result from the outcome the worker sent, or raise its error."""
    status = outcome.get("status")
    if status == "ok":
        result = result_from_data(outcome.get("result") or {})
        result.worker = result.worker or outcome.get("worker")
        return result
    if status == "error":
        raise error_from_data(outcome.get("error") or {})
    if status == "stopped":
        # Not stopped by this runner (that path re-raises its cancellation and never gets
        # here): the worker was shutting down, or lost Redis. The run may be tried again.
        who = outcome.get("worker") or "its worker"
        raise ExecutorError(
            f"stopped on worker {who}: {outcome.get('reason') or 'no reason given'}",
            transient=True,
        )
    raise ExecutorError(
        f"the worker sent an outcome this version does not know: {status!r}", transient=False
    )
