"""bassi.yaml under a running engine: edited, broken and fixed without a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import EngineEvent, LogLine, RunFinished, TaskChanged
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.store.preload import Preload
from tests.helpers import EventLog, make_task, write_atomic

SECRET = "hunter2-not-in-any-log"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    eng = Engine(tmp_path / "tasks")
    yield eng
    await eng.stop()


def said(words: str, level: str = "info") -> Callable[[EngineEvent], bool]:
    return lambda e: isinstance(e, LogLine) and e.level == level and words in e.message


def updated(name: str) -> Callable[[EngineEvent], bool]:
    return lambda e: isinstance(e, TaskChanged) and e.name == name and e.change == "updated"


def timeout_of(engine: Engine, name: str) -> float:
    task = engine.task(name)
    assert task is not None and task.ok, task
    return task.config.timeout


async def test_editing_bassi_yaml_changes_every_task_without_a_restart(engine: Engine) -> None:
    tasks = engine.tasks_dir
    make_task(tasks, "plain", config=None)
    make_task(tasks, "own", config="executor: echo\ntimeout: 5\nnotify:\n  on_success: true\n")
    write_atomic_new(tasks / "bassi.yaml", "defaults:\n  executor: echo\n  timeout: 30\n")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    assert (timeout_of(engine, "plain"), timeout_of(engine, "own")) == (30, 5)

    mark = events.mark()
    write_atomic(
        tasks / "bassi.yaml",
        "defaults:\n  executor: echo\n  timeout: 45\n  notify:\n    on_failure: false\n",
    )
    await events.wait_for(said("bassi.yaml changed: 2 of 2 task(s) updated"), after=mark)
    assert (timeout_of(engine, "plain"), timeout_of(engine, "own")) == (45, 5)
    own = engine.task("own")
    assert own is not None  # notify merged key by key: on_failure from bassi.yaml, on_success own
    assert own.config.notify.on_success and not own.config.notify.on_failure
    changes = [e for e in events.events[mark:] if isinstance(e, TaskChanged)]
    assert sorted((e.name, e.change) for e in changes) == [("own", "updated"), ("plain", "updated")]


async def test_a_broken_bassi_yaml_is_an_error_and_the_previous_defaults_stay(
    engine: Engine,
) -> None:
    tasks = engine.tasks_dir
    make_task(tasks, "plain", config=None)
    write_atomic_new(tasks / "bassi.yaml", "defaults:\n  executor: echo\n  timeout: 30\n")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()

    mark = events.mark()
    broken = f"defaults:\n  executor: echo\n  environment:\n    K: {SECRET}\n  timeout: soon\n"
    write_atomic(tasks / "bassi.yaml", broken)
    error = await events.wait_for(said("bassi.yaml:5: defaults: timeout:", "error"), after=mark)
    await events.wait_for(said("the previous defaults stay", "error"), after=mark)
    assert isinstance(error, LogLine) and error.task is None
    assert timeout_of(engine, "plain") == 30
    assert not any(updated("plain")(e) for e in events.events[mark:])

    mark = events.mark()
    write_atomic(tasks / "bassi.yaml", "defaults:\n  executor: echo\n  timeout: 60\n")
    await events.wait_for(said("bassi.yaml changed: 1 of 1 task(s) updated"), after=mark)
    assert any(said("bassi.yaml is valid again")(e) for e in events.events[mark:])
    assert timeout_of(engine, "plain") == 60
    assert not any(isinstance(e, LogLine) and SECRET in e.message for e in events.events)


async def test_a_first_start_with_a_broken_bassi_yaml_applies_no_defaults(
    engine: Engine,
) -> None:
    tasks = engine.tasks_dir
    make_task(tasks, "plain", config=None)  # echo only comes from the defaults
    write_atomic_new(tasks / "bassi.yaml", "defaults:\n  executor: echo\nworkers: [a]\n")
    events = EventLog(engine)
    await engine.start()
    await events.wait_for(said("bassi.yaml:3: workers: expected a mapping", "error"))
    await events.wait_for(said("no defaults apply", "error"))
    task = engine.task("plain")
    assert task is not None and task.config.executor == "agent"

    mark = events.mark()
    await engine.wait_watching()
    write_atomic(tasks / "bassi.yaml", "defaults:\n  executor: echo\n")
    await events.wait_for(updated("plain"), after=mark)
    task = engine.task("plain")
    assert task is not None and task.config.executor == "echo"


async def test_removing_bassi_yaml_removes_its_defaults(engine: Engine) -> None:
    tasks = engine.tasks_dir
    make_task(tasks, "plain", config="executor: echo\n")
    write_atomic_new(tasks / "bassi.yaml", "defaults:\n  timeout: 30\n")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    mark = events.mark()
    (tasks / "bassi.yaml").unlink()
    await events.wait_for(updated("plain"), after=mark)
    assert timeout_of(engine, "plain") == 600


async def test_runs_never_make_the_engine_read_bassi_yaml_again(engine: Engine) -> None:
    tasks = engine.tasks_dir
    make_task(tasks, "quiet", config=None)
    write_atomic_new(tasks / "bassi.yaml", "defaults:\n  executor: echo\n")
    reads = 0
    keeper = engine._settings
    real_refresh = keeper.refresh

    def counting_refresh() -> object:
        nonlocal reads
        reads += 1
        return real_refresh()

    keeper.refresh = counting_refresh  # type: ignore[method-assign,assignment]
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    assert reads == 2  # the start, and once more when the watcher was armed
    for _ in range(2):
        assert engine.run_now("quiet")
        await events.wait_for(lambda e: isinstance(e, RunFinished), after=events.mark())
    # A task edit is the barrier: a read caused by the runs' writes would come before it.
    mark = events.mark()
    write_atomic(tasks / "quiet" / "prompt.txt", "changed")
    await events.wait_for(updated("quiet"), after=mark)
    assert reads == 2


async def test_a_read_ahead_with_other_defaults_is_not_taken(tmp_path: Path) -> None:
    for n in range(5):
        make_task(tmp_path, f"t{n}", config=None)
    write_atomic_new(tmp_path / "bassi.yaml", "defaults:\n  executor: echo\n  timeout: 30\n")
    lock = InstanceLock(tmp_path)
    assert lock.try_acquire()
    preload = Preload.begin(tmp_path, recover=True, force=True)
    assert preload is not None and preload.defaults is not None
    preload.wait()
    # bassi.yaml changes after the folders were read ahead: the engine reads them again.
    write_atomic(tmp_path / "bassi.yaml", "defaults:\n  executor: echo\n  timeout: 40\n")
    eng = Engine(tmp_path, lock=lock, preload=preload)
    try:
        await eng.start()
        assert {timeout_of(eng, f"t{n}") for n in range(5)} == {40}
    finally:
        await eng.stop()


async def test_a_read_ahead_with_the_same_defaults_is_taken(tmp_path: Path) -> None:
    for n in range(5):
        make_task(tmp_path, f"t{n}", config=None)
    write_atomic_new(tmp_path / "bassi.yaml", "defaults:\n  executor: echo\n  timeout: 30\n")
    lock = InstanceLock(tmp_path)
    assert lock.try_acquire()
    preload = Preload.begin(tmp_path, recover=True, force=True)
    assert preload is not None
    preload.wait()
    eng = Engine(tmp_path, lock=lock, preload=preload)
    took: list[bool] = []
    real_take = preload.take

    def take(*args: object, **kwargs: object) -> object:
        took.append(True)
        return real_take(*args, **kwargs)  # type: ignore[arg-type]

    preload.take = take  # type: ignore[method-assign,assignment]
    try:
        await eng.start()
        assert took == [True]
        assert {timeout_of(eng, f"t{n}") for n in range(5)} == {30}
    finally:
        await eng.stop()


def write_atomic_new(path: Path, text: str) -> None:
    """Write a file before the engine starts (its folder may not exist yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
