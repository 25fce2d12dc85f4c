"""A real redis-server for the session, and two real ``bassi-tui worker`` processes.

Nothing is skipped: a server or a worker that cannot start fails the tests, loudly, with its
log. Runs use fresh run ids, so tests share the server and the workers without stepping on
each other; tests that kill or stop a worker start one of their own, on a label of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.workers.server import RedisServer, WorkerProcess, start_worker

#: What the workers (and only they) have in their environment: a run must see these values,
#: never the scheduler's.
WORKER_ENV = {"MY_TOKEN": "worker-side-token"}


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def worker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="session")
def workers(redis_url: str, worker_dir: Path) -> Iterator[dict[str, WorkerProcess]]:
    """Worker ``wa`` serves label ``a``, ``wb`` serves ``b``."""
    started: dict[str, WorkerProcess] = {}
    try:
        for label in ("a", "b"):
            started[label] = start_worker(redis_url, label, f"w{label}", worker_dir, env=WORKER_ENV)
        yield started
    finally:
        for worker in started.values():
            worker.stop()


@pytest.fixture
async def link(redis_url: str) -> AsyncIterator[object]:
    from bassi_tui.workers.link import WorkerLink

    shared = WorkerLink(redis_url)
    try:
        yield shared
    finally:
        await shared.aclose()
