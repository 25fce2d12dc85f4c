"""The scheduler's connection to one Redis of workers, shared by every label's RemoteRunner.

Two clients on one URL: ``redis.asyncio`` for what the event loop waits on (output streams,
job status, heartbeats, liveness: never blocking the loop), and a blocking ``redis`` client for
RQ's own API (enqueue, stop, a job's return value), which RQ only offers blocking: those calls
go to threads (``asyncio.to_thread``), one short call each.

(redis-py 7's type hints give an async command's result as ``Awaitable[T] | T``: the few
``type: ignore[misc]`` on awaits in this package are for that, nothing else.)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

import redis
import redis.asyncio as aredis
from redis.exceptions import RedisError
from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from bassi_tui.workers.keys import JOB_FUNCTION, RESULT_TTL, card_key, queue_name
from bassi_tui.workers.liveness import WorkerInfo, live_workers

__all__ = ["LIVE_FOR", "WorkerLink", "async_client"]

#: Seconds a liveness answer is reused (a fresh one costs two round trips).
LIVE_FOR = 2.0
#: Seconds to connect, and the blocking client's read timeout (RQ's calls are short).
CONNECT_TIMEOUT = 10.0
SOCKET_TIMEOUT = 30.0
#: TCP keepalive: a connection to a Redis that has gone (a cut network never closes the socket)
#: fails within about 25 s instead of hanging a run's follower.
KEEPALIVE: dict[int, int] = (
    {socket.TCP_KEEPIDLE: 10, socket.TCP_KEEPINTVL: 5, socket.TCP_KEEPCNT: 3}
    if hasattr(socket, "TCP_KEEPIDLE")
    else {}
)


def async_client(url: str) -> aredis.Redis:
    """An asyncio client for ``url`` with no read timeout, on purpose.

    With ``socket_timeout`` set, redis-py's asyncio client (5.x to 8.x, on Python 3.11) now and
    then swallows a task's cancellation: the awaited command returns as if nothing happened, and
    a run's timeout or cancel is lost. Measured here (a command cancelled 0-3 ms after it was
    sent: about one in five went on); without a read timeout, none did. 8.x swallows it even so,
    hence ``redis<8``. Dead connections are found by TCP keepalive instead.
    """
    return aredis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_keepalive=True,
        socket_keepalive_options=KEEPALIVE,
    )


class WorkerLink:
    """Clients for the Redis at ``url`` (``redis://HOST:PORT/DB``), made on first use."""

    def __init__(self, url: str, *, live_for: float = LIVE_FOR) -> None:
        self.url = url
        self.live_for = live_for
        self._aio: aredis.Redis | None = None
        self._sync: redis.Redis | None = None
        self._live: dict[str, tuple[float, list[WorkerInfo]]] = {}

    @property
    def aio(self) -> aredis.Redis:
        """The client the event loop awaits."""
        if self._aio is None:
            self._aio = async_client(self.url)
        return self._aio

    @property
    def sync(self) -> redis.Redis:
        """The blocking client RQ uses: call it in a thread only."""
        if self._sync is None:
            self._sync = redis.Redis.from_url(
                self.url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=CONNECT_TIMEOUT
            )
        return self._sync

    # -- liveness ---------------------------------------------------------------------------

    async def live_workers(self, label: str, *, fresh: bool = False) -> list[WorkerInfo]:
        """The live workers that serve ``label``; an answer up to :attr:`live_for` old unless
        ``fresh``. Raises RedisError when Redis cannot be reached."""
        cached = self._live.get(label)
        if not fresh and cached is not None and time.monotonic() - cached[0] < self.live_for:
            return cached[1]
        workers = await live_workers(self.aio, label)
        self._live[label] = (time.monotonic(), workers)
        return workers

    async def has_live_worker(self, label: str, *, fresh: bool = False) -> bool:
        """Whether a live worker serves ``label``. A cached "yes" is trusted, a "no" is asked
        again: a worker that has just started must not be missed. False when Redis cannot be
        reached (no worker can be reached through it either)."""
        try:
            if await self.live_workers(label, fresh=fresh):
                return True
            return bool(not fresh and await self.live_workers(label, fresh=True))
        except (RedisError, OSError):
            return False

    def known_live(self, label: str) -> bool | None:
        """The last liveness answer for ``label`` without asking Redis (None: never asked, or
        too old). For a card or a `list` that must not wait."""
        cached = self._live.get(label)
        if cached is None or time.monotonic() - cached[0] >= self.live_for:
            return None
        return bool(cached[1])

    async def worker_info(self, name: str) -> WorkerInfo | None:
        """A worker's card, when it is alive."""
        with contextlib.suppress(RedisError, OSError):
            raw = await self.aio.get(card_key(name))
            if raw is not None:
                return WorkerInfo.from_card(name, raw)
        return None

    # -- RQ's blocking calls, each in a thread ---------------------------------------------

    async def enqueue(
        self, label: str, job_id: str, payload: dict[str, Any], *, timeout: int, description: str
    ) -> bool:
        """Enqueue the job ``job_id`` on ``label``'s queue; False when a job of that id exists
        already (RQ's ``unique``: checked and saved in one Lua script, so two callers never
        both enqueue)."""

        def enqueue() -> bool:
            queue = Queue(queue_name(label), connection=self.sync, serializer=JSONSerializer)
            try:
                queue.enqueue_call(
                    JOB_FUNCTION,
                    args=(payload,),
                    job_id=job_id,
                    timeout=timeout,
                    result_ttl=RESULT_TTL,
                    failure_ttl=RESULT_TTL,
                    description=description,
                    unique=True,
                )
            except DuplicateJobError:
                return False
            return True

        return await asyncio.to_thread(enqueue)

    async def take_back(self, label: str, job_id: str) -> bool:
        """Take a job that is still waiting in ``label``'s queue out of it (and cancel it):
        True when it was still there, so no worker will ever run it."""

        def take() -> bool:
            queue = Queue(queue_name(label), connection=self.sync, serializer=JSONSerializer)
            # LREM is the atomic part: a worker moves a job out of the list to start it.
            if not self.sync.lrem(queue.key, 0, job_id):
                return False
            with contextlib.suppress(NoSuchJobError, InvalidJobOperation, RedisError):
                Job.fetch(job_id, connection=self.sync, serializer=JSONSerializer).cancel()
            return True

        return await asyncio.to_thread(take)

    async def stop_job(self, job_id: str) -> None:
        """RQ's stop: the worker running ``job_id`` kills its work-horse (SIGKILL); nothing when
        no worker runs it (any more)."""

        def stop() -> None:
            with contextlib.suppress(NoSuchJobError, InvalidJobOperation, RedisError):
                send_stop_job_command(self.sync, job_id, serializer=JSONSerializer)

        await asyncio.to_thread(stop)

    async def job_return(self, job_id: str) -> Any:
        """What the job's function returned (None when RQ has no result for it)."""

        def value() -> Any:
            try:
                return Job.fetch(
                    job_id, connection=self.sync, serializer=JSONSerializer
                ).return_value()
            except NoSuchJobError:
                return None

        return await asyncio.to_thread(value)

    async def job_failure(self, job_id: str) -> str:
        """The last line of why RQ failed the job (its traceback's last line)."""

        def why() -> str:
            try:
                job = Job.fetch(job_id, connection=self.sync, serializer=JSONSerializer)
                text = job.exc_info or ""
            except NoSuchJobError:
                return "its job is gone"
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            return lines[-1] if lines else "no reason given"

        return await asyncio.to_thread(why)

    async def aclose(self) -> None:
        """Close both clients."""
        if self._aio is not None:
            await self._aio.aclose()
            self._aio = None
        if self._sync is not None:
            self._sync.close()
            self._sync = None
