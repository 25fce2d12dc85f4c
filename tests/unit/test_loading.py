"""Loading many task folders: in worker processes, the same as in one thread, and never failing."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.store import loading
from bassi_tui.store.loading import LoadAborted, Loaded, load_folders
from bassi_tui.store.parse import _read_fd
from bassi_tui.store.preload import Preload
from tests.helpers import dead_pid, make_task, write_run


def build(root: Path) -> list[str]:
    """Good, broken and config-less tasks, and one whose last run crashed."""
    for n in range(12):
        make_task(root, f"task-{n:02d}", config=None if n % 3 else "executor: echo\n")
    make_task(root, "broken", schedule="type: daily\ntiem: '09:00'\n")
    crashed = make_task(root, "crashed")
    write_run(crashed, datetime.now().astimezone() - timedelta(minutes=3), "running", "half",
              pid=dead_pid())  # fmt: skip
    return sorted(p.name for p in root.iterdir())


def comparable(loaded: list[Loaded]) -> list[tuple[object, ...]]:
    return [(got.task, got.state, got.notes) for got in loaded]


def test_worker_processes_load_what_one_thread_loads(tmp_path: Path) -> None:
    names = build(tmp_path)
    now = datetime.now().astimezone()
    alone = load_folders(tmp_path, names, now=now, parallel=False)
    pooled = load_folders(tmp_path, names, now=now, parallel=True)
    assert [got.task.name for got in pooled] == names
    assert comparable(pooled) == comparable(alone)
    broken = pooled[names.index("broken")].task
    assert not broken.ok and any("tiem" in p.message for p in broken.problems)


def test_recovery_in_worker_processes_marks_the_crashed_run(tmp_path: Path) -> None:
    names = build(tmp_path)
    pooled = load_folders(tmp_path, names, recover=True, parallel=True)
    crashed = pooled[names.index("crashed")]
    assert any("was interrupted" in note for note in crashed.notes)
    assert crashed.state.history[0].status == "interrupted"
    metas = [p for p in (tmp_path / "crashed" / "results").iterdir() if p.suffix == ".json"]
    assert [json.loads(p.read_text())["status"] for p in metas] == ["interrupted"]


def _dying_pool(workers: int) -> Executor:
    # Every worker exits as it starts: the pool breaks, as it would with no memory or a sandbox.
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(1, mp_context=context, initializer=os._exit, initargs=(3,))


def test_a_broken_pool_falls_back_to_loading_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    names = build(tmp_path)
    monkeypatch.setattr(loading, "make_pool", _dying_pool)
    pooled = load_folders(tmp_path, names, parallel=True)
    assert comparable(pooled) == comparable(load_folders(tmp_path, names, parallel=False))
    assert "parallel load failed" in caplog.text


def test_many_folders_go_to_the_pool_and_few_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = build(tmp_path)
    pools: list[int] = []
    real = loading.make_pool

    def counting_pool(workers: int) -> Executor:
        pools.append(workers)
        return real(workers)

    monkeypatch.setattr(loading, "make_pool", counting_pool)
    monkeypatch.setattr(loading, "cores", lambda: 2)
    load_folders(tmp_path, names)
    assert pools == []  # 14 folders: not worth a process
    monkeypatch.setattr(loading, "POOL_OVER", 5)
    monkeypatch.setattr(loading, "CHUNK", 4)
    assert len(load_folders(tmp_path, names)) == len(names)
    assert pools == [2]
    monkeypatch.setattr(loading, "cores", lambda: 1)
    load_folders(tmp_path, names)
    assert pools == [2]  # one core: no pool


def test_reading_follows_a_file_that_grew_after_fstat(tmp_path: Path) -> None:
    path = tmp_path / "grown"
    path.write_bytes(b"x" * 200_000)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert len(_read_fd(fd, 10, 150_001)) == 150_001  # stops at the limit
    finally:
        os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_fd(fd, 10, 1_000_000) == b"x" * 200_000  # reads on past the stale size
    finally:
        os.close(fd)


def test_a_called_off_load_stops(tmp_path: Path) -> None:
    names = build(tmp_path)
    abort = threading.Event()
    abort.set()
    with pytest.raises(LoadAborted):
        load_folders(tmp_path, names, parallel=False, abort=abort)
    with pytest.raises(LoadAborted):
        load_folders(tmp_path, names, parallel=True, abort=abort)


def test_a_called_off_read_ahead_stops_and_closes_its_pool(tmp_path: Path) -> None:
    names = build(tmp_path)
    preload = Preload.begin(tmp_path, recover=False, force=True)
    assert preload is not None
    abort = threading.Event()
    abort.set()
    with pytest.raises(LoadAborted):
        preload.take(names, abort)
    assert preload._pool is None  # closed: its worker goes away


def test_a_worker_whose_app_died_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = build(tmp_path)
    monkeypatch.setattr(loading, "_parent_pid", os.getppid())  # as in a worker of the test run
    assert len(loading.load_chunk(str(tmp_path), names, False, datetime.now().astimezone())) == 14
    monkeypatch.setattr(loading, "_parent_pid", dead_pid())  # its app is gone
    with pytest.raises(LoadAborted):
        loading.load_chunk(str(tmp_path), names, False, datetime.now().astimezone())
