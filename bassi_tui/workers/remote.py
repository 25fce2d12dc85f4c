"""RemoteRunner: a Runner that hands each attempt to an RQ worker serving a ``runs_on`` label.

The run path treats it as any runner: ``await runner.run(request, on_text)`` returns the
attempt's AttemptResult (``worker`` says which worker did it) or raises ExecutorError. What is
particular to it:

- At most once. The job id comes from ``request.run_id`` and ``request.attempt``
  (:func:`~bassi_tui.workers.keys.job_id_for`). RQ's ``unique`` enqueue saves the job only if no
  job has that id, atomically; a caller that finds one (a second call, a restarted scheduler,
  a catch-up of the same slot) follows the existing job instead, output replayed from its
  start. A ``bassi:handed:<job>`` marker outlives the job, so an attempt whose job has expired
  is refused, never run again.
- A label with no live worker fails the attempt at once (transient, saying how to start one);
  so does a job still waiting in the queue when the last worker of its label goes.
- Cancellation (the run's timeout, a person's ``x``, the engine stopping) asks the work-horse
  to stop the attempt (it cancels its runner, which stops what it started), waits up to
  ``stop_grace`` seconds for it, then has RQ kill the work-horse; then the cancellation goes on.
- A worker that stops answering mid-run raises :class:`~bassi_tui.executor.base.RunLost`
  within ``lost_after`` seconds (plus ``poll``): record the run ``lost``; it is not re-run.

Nothing secret is sent (:mod:`~bassi_tui.workers.payload`): the worker runs with its own
environment and its own API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from redis.exceptions import RedisError
from rq.job import Job

from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest, TextSink
from bassi_tui.executor.process_group import KILL_GRACE
from bassi_tui.workers.follow import Attempt, follow, no_live_worker
from bassi_tui.workers.keys import (
    DEFAULT_LOST_AFTER,
    HANDED_TTL,
    JOB_TIMEOUT_MARGIN,
    RESULT_TTL,
    handed_key,
    job_id_for,
    stop_key,
)
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.payload import request_payload

__all__ = ["DEFAULT_POLL", "STOP_GRACE", "RemoteRunner"]

log = logging.getLogger(__name__)

#: Seconds between looks at a job while its output is quiet.
DEFAULT_POLL = 1.0
#: Seconds a cancelled attempt gets to stop by itself before RQ kills its work-horse: the
#: command executor's SIGTERM-then-SIGKILL of its process group, and a little more.
STOP_GRACE = 2 * KILL_GRACE + 2.0
_OVER = {b"finished", b"failed", b"stopped", b"canceled"}


class RemoteRunner:
    """Runs attempts on the RQ workers that serve ``label`` (see the module docstring).

    ``target`` is a Redis URL (``redis://HOST:PORT/DB``; the runner then owns its clients) or a
    :class:`~bassi_tui.workers.link.WorkerLink` shared by every label's runner.
    """

    name: str = "remote"

    def __init__(
        self,
        target: str | WorkerLink,
        label: str,
        *,
        lost_after: float = DEFAULT_LOST_AFTER,
        poll: float = DEFAULT_POLL,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self._owns_link = not isinstance(target, WorkerLink)
        self.link = WorkerLink(target) if isinstance(target, str) else target
        self.label = label
        self.lost_after = lost_after
        self.poll = poll
        self.stop_grace = stop_grace
        self._stoppers: set[asyncio.Task[None]] = set()

    async def has_live_worker(self) -> bool:
        """Whether a live worker serves this runner's label (cached for a moment)."""
        return await self.link.has_live_worker(self.label)

    async def run(self, request: RunRequest, on_text: TextSink) -> AttemptResult:
        """One attempt on a worker: hand it over (once), relay its output, return its result."""
        run_id = request.run_id or uuid.uuid4().hex
        job_id = job_id_for(run_id, request.attempt)
        attempt = Attempt(job_id, self.label, self.lost_after, self.poll)
        try:
            try:
                await self._hand_over(job_id, request)
            except (RedisError, OSError) as exc:  # nothing was handed over: it may be retried
                raise ExecutorError(
                    f"cannot reach the workers' Redis at {self._where()}: {exc}", transient=True
                ) from exc
            return await follow(self.link, attempt, on_text)
        except ExecutorError:
            raise  # the job is over, was never run, or is lost (and was told to stop)
        except BaseException:
            # Cancelled (a timeout, a person, the engine stopping), or on_text failed (the
            # result file cannot be written): never leave the job running on its worker.
            await self._stop_shielded(job_id)
            raise

    def _where(self) -> str:
        """The Redis server's host and port, never its password."""
        kwargs = self.link.aio.connection_pool.connection_kwargs
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"

    async def _hand_over(self, job_id: str, request: RunRequest) -> None:
        """Enqueue the attempt, unless it was handed over before (then it is followed)."""
        aio = self.link.aio
        if await aio.exists(handed_key(job_id)):
            return
        if not await self.link.has_live_worker(self.label):
            raise ExecutorError(no_live_worker(self.label), transient=True)
        payload = request_payload(request, job_id=job_id, lost_after=self.lost_after)
        description = f"bassi-tui {request.task_name} attempt {request.attempt}"
        await self.link.enqueue(
            self.label,
            job_id,
            payload,
            timeout=int(request.config.timeout) + JOB_TIMEOUT_MARGIN,
            description=description,
        )
        try:
            await aio.set(handed_key(job_id), b"1", ex=HANDED_TTL)
        except (RedisError, OSError) as exc:  # handed over all the same: follow it
            log.warning("cannot mark job %s as handed over: %s", job_id, exc)

    async def _stop_shielded(self, job_id: str) -> None:
        """Stop the job; a second cancellation cuts the wait short, never the stop itself."""
        stopper = asyncio.ensure_future(self._stop(job_id))
        self._stoppers.add(stopper)
        stopper.add_done_callback(self._stoppers.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(stopper)

    async def _stop(self, job_id: str) -> None:
        """Ask the work-horse to stop; kill it if it has not within ``stop_grace`` seconds."""
        aio = self.link.aio
        try:
            async with aio.pipeline(transaction=False) as pipe:
                pipe.lpush(stop_key(job_id), "stopped by the scheduler (timeout or cancel)")
                pipe.expire(stop_key(job_id), RESULT_TTL)
                pipe.hget(Job.key_for(job_id), "status")
                *_, status = await pipe.execute()
            if status in (b"queued", b"deferred", b"scheduled") and await self.link.take_back(
                self.label, job_id
            ):
                return
            deadline = time.monotonic() + self.stop_grace
            while status not in _OVER and status is not None:
                if time.monotonic() >= deadline:
                    log.warning(
                        "job %s did not stop in %g s: killing its work-horse",
                        job_id,
                        self.stop_grace,
                    )
                    await self.link.stop_job(job_id)
                    return
                await asyncio.sleep(0.05)
                status = await aio.hget(Job.key_for(job_id), "status")  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            log.warning("cannot stop job %s on its worker: %s", job_id, exc)

    async def aclose(self) -> None:
        """Let stops in flight finish (bounded), then close the clients this runner owns."""
        if self._stoppers:
            await asyncio.wait(list(self._stoppers), timeout=self.stop_grace + 5)
        if self._owns_link:
            await self.link.aclose()
