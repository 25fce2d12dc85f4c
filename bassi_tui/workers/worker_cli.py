"""``bassi-tui worker --url URL --labels a,b [--name NAME]``: an RQ worker for ``runs_on`` runs.

It is RQ's forking ``Worker`` on the queues of the given labels, with JSON jobs, plus what
bassi-tui needs around it:

- a card in Redis renewed every few seconds (:class:`~bassi_tui.workers.liveness.WorkerCard`),
  by which a scheduler knows the label has a live worker;
- a child subreaper (:mod:`~bassi_tui.workers.reaper`): what a run started dies with the run;
- SIGTERM or SIGINT (systemd's stop, Ctrl+C) stop a run in flight *now* (its work-horse stops
  its runner, and the scheduler hears "stopped on worker ...", a transient error, so the run may
  be tried again elsewhere) and then the worker; RQ alone would wait for the run to finish.
  A second signal is RQ's cold shutdown.

Task folders of the runs live under ``$BASSI_WORKER_DIR`` (default ``~/.bassi/worker``). The
worker's environment is the runs' environment: set the API key and every variable the tasks'
``environment:`` names here, not on the scheduler's host.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
from pathlib import Path
from typing import Any, cast

import redis
from redis.exceptions import RedisError
from rq import Worker
from rq.serializers import JSONSerializer

from bassi_tui.workers import jobs
from bassi_tui.workers.keys import RESULT_TTL, card_key, queue_name, stop_key
from bassi_tui.workers.liveness import WorkerCard, WorkerInfo, beat_from_env
from bassi_tui.workers.reaper import become_subreaper, kill_orphans

__all__ = ["BassiWorker", "parse_labels", "worker_command"]

log = logging.getLogger("bassi_tui.workers")

EXIT_USAGE = 2
_LABEL = re.compile(r"^[A-Za-z0-9_.-]+$")


def parse_labels(text: str) -> list[str]:
    """``a,b`` -> ``["a", "b"]``; ValueError for an empty or odd label."""
    labels = [part.strip() for part in text.split(",") if part.strip()]
    if not labels:
        raise ValueError("--labels needs at least one label, e.g. --labels gpu,eu")
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"label {label!r}: use letters, digits, '.', '_' and '-' only")
    return list(dict.fromkeys(labels))


class BassiWorker(Worker):
    """RQ's Worker, plus: orphans of each job are killed; a stop signal stops the job too."""

    def __init__(self, *args: Any, url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._url = url
        self._running_job: str | None = None

    def execute_job(self, job: Any, queue: Any) -> None:
        self._running_job = job.id
        try:
            super().execute_job(job, queue)
        finally:
            self._running_job = None
            kill_orphans()

    def handle_warm_shutdown_request(self) -> None:
        super().handle_warm_shutdown_request()  # type: ignore[no-untyped-call]
        job_id = self._running_job
        if job_id is not None:
            # In a signal handler: no Redis call here, where the main thread may be inside one
            # on the same connection. A thread with a client of its own asks the horse to stop.
            threading.Thread(target=self._ask_stop, args=(job_id,), daemon=True).start()

    def _ask_stop(self, job_id: str) -> None:
        reason = f"worker {self.name} on {self.hostname} is shutting down"
        try:
            client = redis.Redis.from_url(self._url, socket_timeout=10)
            with client.pipeline(transaction=False) as pipe:
                pipe.lpush(stop_key(job_id), reason)
                pipe.expire(stop_key(job_id), RESULT_TTL)
                pipe.execute()
            client.close()
        except RedisError as exc:
            log.warning("cannot ask job %s to stop: %s", job_id, exc)


def _default_name() -> str:
    host = re.sub(r"[^A-Za-z0-9_.-]+", "-", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


def worker_command(url: str | None, labels_text: str, name: str | None) -> int:
    """Run the worker until a signal stops it; the exit code."""
    if not url:
        print(
            "bassi-tui worker: no Redis URL: give --url redis://HOST:PORT/DB "
            "or set BASSI_WORKERS_URL",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        labels = parse_labels(labels_text)
    except ValueError as exc:
        print(f"bassi-tui worker: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    name = name or _default_name()
    host = socket.gethostname()
    root = Path(os.environ.get("BASSI_WORKER_DIR") or jobs.DEFAULT_WORKER_DIR).expanduser()
    connection = redis.Redis.from_url(url, socket_connect_timeout=10)
    card = WorkerCard(
        redis.Redis.from_url(url, socket_timeout=10),  # its own: see WorkerCard
        WorkerInfo(name, host, os.getpid(), tuple(labels)),
        beat_from_env(),
    )
    try:
        connection.ping()
        if (raw := connection.get(card_key(name))) is not None:
            other = WorkerInfo.from_card(name, cast(bytes, raw))
            where = f" (pid {other.pid} on {other.host})" if other is not None else ""
            print(
                f"bassi-tui worker: a live worker is named {name} already{where}: "
                "give another --name",
                file=sys.stderr,
            )
            return EXIT_USAGE
        card.start()
        _forget_dead_namesake(connection, name)
    except (RedisError, OSError) as exc:
        print(
            f"bassi-tui worker: cannot reach Redis at {_host_port(connection)}: {exc}",
            file=sys.stderr,
        )
        return 1
    jobs.configure(jobs.WorkerSettings(url, name, host, root))
    import bassi_tui.executor.runners  # noqa: F401  (imported once here, not in every work-horse)

    reaping = become_subreaper()
    worker = BassiWorker(
        [queue_name(label) for label in labels],
        name=name,
        connection=connection,
        serializer=JSONSerializer,
        url=url,
    )
    log.info(
        "worker %s on %s serves %s (queues %s)%s",
        name,
        host,
        ", ".join(labels),
        ", ".join(queue_name(label) for label in labels),
        "" if reaping else "; no subreaper here: a killed work-horse may leave programs running",
    )
    try:
        worker.work(logging_level="INFO")
    finally:
        card.stop()
        kill_orphans()
    return 0


def _forget_dead_namesake(connection: redis.Redis, name: str) -> None:
    """Drop RQ's record of a dead worker of this name (its card has expired: it was killed).

    RQ keeps a worker's key for a minute or more after its last heartbeat and refuses to start
    a worker of the same name meanwhile; a worker restarted after a crash must start at once.
    """
    key = Worker.redis_worker_namespace_prefix + name
    if connection.exists(key) and not connection.hexists(key, "death"):
        log.warning("worker %s was not stopped cleanly before: forgetting its RQ record", name)
        connection.delete(key)


def _host_port(client: redis.Redis) -> str:
    """Where ``client`` connects, never its password."""
    kwargs = client.connection_pool.connection_kwargs
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
