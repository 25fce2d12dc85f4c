"""Faults from outside: a full disk, a read-only folder, a task folder removed mid-run.

Each ends as a recorded failure with its reason (on the card's view and in the log), never as a
run left "running" or an exception nobody retrieves. The full and read-only disks are real: a
small tmpfs mounted for the test (the suite runs as root; without the right to mount, these
tests are skipped and say why).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import LogLine, RunFinished
from bassi_tui.store.results import list_results
from tests.helpers import EventLog, make_task

TMPFS_SIZE = "256k"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: a disk that fills up for real."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    """Fill ``disk`` to the last byte."""
    with contextlib.suppress(OSError), (disk / "filler").open("wb") as fh:
        while True:
            fh.write(b"x" * 4096)
            fh.flush()


def said(events: EventLog, text: str) -> bool:
    return any(isinstance(e, LogLine) and text in e.message for e in events.events)


def no_running_record(folder: Path) -> bool:
    return all(not r.running for r in list_results(folder / "results"))


async def test_a_full_disk_fails_the_run_with_its_reason(small_disk: Path) -> None:
    folder = make_task(small_disk, "report")
    engine = Engine(small_disk, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        fill(small_disk)
        assert engine.run_now("report")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(done, RunFinished) and done.status == "failed"
        assert done.error is not None and "No space left on device" in done.error
        assert done.problem is not None and "last_run.json" in done.problem
        view = engine.view("report")
        assert view is not None and view.last_status == "failed"
        assert view.last_error is not None and "No space left" in view.last_error
        assert said(events, "report failed") and said(events, "not fully recorded")
    finally:
        await engine.stop()
    assert no_running_record(folder)
    assert [p.name for p in (folder / "results").iterdir()] == []  # no empty result left


async def test_output_that_fills_the_disk_ends_the_run_failed(small_disk: Path) -> None:
    flood = "executor: command\ncommand: ['sh', '-c', 'yes flood | head -c 2000000']\n"
    folder = make_task(small_disk, "flood", config=flood)
    engine = Engine(small_disk, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("flood")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(done, RunFinished) and done.status == "failed"
        assert done.error is not None and "cannot write the result file" in done.error
        assert engine.view("flood").last_status == "failed"  # type: ignore[union-attr]
    finally:
        await engine.stop()
    assert no_running_record(folder)


async def test_a_read_only_task_folder_fails_the_run_with_its_reason(
    tmp_path: Path, small_disk: Path
) -> None:
    # The task folder is the tmpfs itself, so it can be made read-only while the engine holds
    # its lock file (in the tasks dir, outside the mount).
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    folder = tasks / "frozen"
    folder.mkdir()
    subprocess.run(["mount", "--bind", str(small_disk), str(folder)], check=True)
    try:
        make_task(tasks, "frozen")
        engine = Engine(tasks, watch=False)
        events = EventLog(engine)
        await engine.start()
        try:
            # The start's next-run promise is written in the background: a file being written
            # makes the remount "busy".
            await engine.wait_promised()
            subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
            assert engine.run_now("frozen")
            done = await events.wait_for(lambda e: isinstance(e, RunFinished))
            assert isinstance(done, RunFinished) and done.status == "failed"
            assert done.error is not None and "Read-only file system" in done.error
            assert engine.view("frozen").last_error == done.error  # type: ignore[union-attr]
        finally:
            await engine.stop()
        assert no_running_record(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("remove", ["folder", "results"])
async def test_a_folder_removed_mid_run_still_ends_the_run(tmp_path: Path, remove: str) -> None:
    go = tmp_path / "go"
    script = f"echo begun; while [ ! -e {go} ]; do sleep 0.02; done; echo end"
    folder = make_task(
        tmp_path / "tasks",
        "doomed",
        config=f"executor: command\ncommand: ['sh', '-c', '{script}']\n",
    )
    other = make_task(tmp_path / "tasks", "other")
    engine = Engine(tmp_path / "tasks", watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("doomed")
        await events.wait_for(lambda e: getattr(e, "text", None) == "begun\n")
        shutil.rmtree(folder if remove == "folder" else folder / "results")
        go.touch()
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
        assert isinstance(done, RunFinished) and done.status == "success"
        assert done.problem is not None and "cannot write" in done.problem
        assert said(events, "not fully recorded")
        # The engine goes on: another task still runs.
        mark = events.mark()
        assert engine.run_now("other")
        ok = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
        assert isinstance(ok, RunFinished) and ok.status == "success"
    finally:
        await engine.stop()
    assert list_results(other / "results")
