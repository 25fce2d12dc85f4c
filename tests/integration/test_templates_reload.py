"""Templates under a running engine: edited, added, broken, fixed and removed without a restart.

The real engine and its watcher over real folders; every wait is bounded (EventLog), none sleeps.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import EngineEvent, LogLine, RunFinished, TaskChanged
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.store.preload import Preload
from tests.helpers import EventLog, make_task, write_atomic

WEEKLY = 'type: weekly\nday: monday\ntime: "09:00"\n'


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    eng = Engine(tmp_path / "tasks")
    yield eng
    await eng.stop()


def put(path: Path, text: str) -> None:
    """Write a file as an editor does (its folder made first if need be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def said(words: str, level: str = "info") -> Callable[[EngineEvent], bool]:
    return lambda e: isinstance(e, LogLine) and e.level == level and words in e.message


def changed(name: str, change: str | None = None) -> Callable[[EngineEvent], bool]:
    return lambda e: isinstance(e, TaskChanged) and e.name == name and change in (None, e.change)


def changes_since(events: EventLog, mark: int) -> list[tuple[str, str]]:
    return sorted((e.name, e.change) for e in events.events[mark:] if isinstance(e, TaskChanged))


def config_of(engine: Engine, name: str) -> tuple[float, int]:
    task = engine.task(name)
    assert task is not None and task.ok, task
    return task.config.timeout, task.config.max_retries


async def test_editing_a_template_reloads_exactly_the_tasks_that_extend_it(
    engine: Engine,
) -> None:
    tasks = engine.tasks_dir
    put(tasks / ".templates" / "base" / "config.yaml", "executor: echo\ntimeout: 10\n")
    put(tasks / ".templates" / "weekly" / "config.yaml", "extends: base\nmax_retries: 1\n")
    put(tasks / ".templates" / "weekly" / "schedule.yaml", WEEKLY)
    make_task(tasks, "by-weekly", schedule='time: "10:00"\n', config="extends: weekly\n")
    make_task(tasks, "by-base", config="extends: base\n")
    make_task(tasks, "plain", config="executor: echo\n")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    assert config_of(engine, "by-weekly") == (10, 1)
    assert config_of(engine, "by-base") == (10, 3)
    assert engine.names() == ["by-base", "by-weekly", "plain"]  # no template is a task

    mark = events.mark()
    put(tasks / ".templates" / "weekly" / "config.yaml", "extends: base\nmax_retries: 2\n")
    await events.wait_for(said(".templates/weekly changed: 1 of 1 task(s) updated"), after=mark)
    assert changes_since(events, mark) == [("by-weekly", "updated")]
    assert config_of(engine, "by-weekly") == (10, 2)

    # What a template extends reaches the tasks of both.
    mark = events.mark()
    put(tasks / ".templates" / "base" / "config.yaml", "executor: echo\ntimeout: 20\n")
    await events.wait_for(said(".templates/base changed: 2 of 2 task(s) updated"), after=mark)
    assert changes_since(events, mark) == [("by-base", "updated"), ("by-weekly", "updated")]
    assert config_of(engine, "by-weekly") == (20, 2) and config_of(engine, "by-base") == (20, 3)

    # A schedule from the template: the job moves with it.
    mark = events.mark()
    put(tasks / ".templates" / "weekly" / "schedule.yaml", WEEKLY.replace("monday", "friday"))
    await events.wait_for(changed("by-weekly", "updated"), after=mark)
    task = engine.task("by-weekly")
    assert task is not None and task.schedule is not None
    assert task.schedule.days == ("friday",) and str(task.schedule.at) == "10:00:00"
    when = engine.next_run("by-weekly")
    assert when is not None and when.weekday() == 4


async def test_a_template_made_later_mends_its_tasks_and_its_prompt_is_what_runs(
    engine: Engine,
) -> None:
    tasks = engine.tasks_dir
    make_task(tasks, "report", config="extends: later\n", prompt="unused")
    os.remove(tasks / "report" / "prompt.txt")  # the prompt is to come from the template
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    task = engine.task("report")
    assert task is not None and not task.ok
    assert [p.message for p in task.problems] == [
        "extends: 'later' not found in .templates/; there are none"
    ]

    # Made elsewhere and moved in whole, as a person copying a template folder would.
    mark = events.mark()
    staging = tasks.parent / "staging"
    put(staging / "config.yaml", "executor: echo\n")
    put(staging / "prompt.txt", "Report for {task_name}\n")
    (tasks / ".templates").mkdir()
    staging.rename(tasks / ".templates" / "later")
    await events.wait_for(changed("report", "updated"), after=mark)
    mended = engine.task("report")
    assert mended is not None and mended.ok, mended

    mark = events.mark()
    assert engine.run_now("report")
    done = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
    assert isinstance(done, RunFinished) and done.record.status == "success"
    assert done.record.output_file is not None
    assert done.record.output_file.read_text() == "Report for report\n"

    # The template's prompt edited: the next run says the new one.
    mark = events.mark()
    put(tasks / ".templates" / "later" / "prompt.txt", "Weekly {task_name}\n")
    await events.wait_for(said(".templates/later changed: 1 of 1 task(s) updated"), after=mark)
    mark = events.mark()
    assert engine.run_now("report")
    done = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
    assert isinstance(done, RunFinished) and done.record.output_file is not None
    assert done.record.output_file.read_text() == "Weekly report\n"


async def test_a_broken_template_breaks_its_tasks_until_it_is_fixed(engine: Engine) -> None:
    tasks = engine.tasks_dir
    put(tasks / ".templates" / "w" / "config.yaml", "executor: echo\ntimeout: 30\n")
    make_task(tasks, "user", config="extends: w\n")
    make_task(tasks, "other", config="executor: echo\n")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    assert config_of(engine, "user") == (30, 3)

    mark = events.mark()
    put(tasks / ".templates" / "w" / "config.yaml", "executor: echo\ntimeout: soon\n")
    await events.wait_for(changed("user", "broken"), after=mark)
    await events.wait_for(
        said("Task user: .templates/w/config.yaml:2: timeout: expected a number", "error"),
        after=mark,
    )
    assert engine.next_run("user") is None  # a broken task is not scheduled
    assert changes_since(events, mark) == [("user", "broken")]

    mark = events.mark()
    put(tasks / ".templates" / "w" / "config.yaml", "executor: echo\ntimeout: 40\n")
    await events.wait_for(changed("user", "updated"), after=mark)
    assert config_of(engine, "user") == (40, 3)
    assert engine.next_run("user") is not None


async def test_removing_a_template_breaks_its_tasks_and_tells_why(engine: Engine) -> None:
    tasks = engine.tasks_dir
    put(tasks / ".templates" / "w" / "config.yaml", "executor: echo\n")
    put(tasks / ".templates" / "keep" / "config.yaml", "executor: echo\n")
    make_task(tasks, "user", config="extends: w\n")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()

    mark = events.mark()
    (tasks / ".templates" / "w").rename(tasks.parent / "w-away")
    await events.wait_for(changed("user", "broken"), after=mark)
    task = engine.task("user")
    assert task is not None
    assert [f"{p.location()}: {p.message}" for p in task.problems] == [
        "config.yaml:1: extends: 'w' not found in .templates/; there are: keep"
    ]

    # The whole .templates/ folder moved back and forth at once.
    mark = events.mark()
    (tasks.parent / "w-away").rename(tasks / ".templates" / "w")
    await events.wait_for(changed("user", "updated"), after=mark)
    mark = events.mark()
    (tasks / ".templates").rename(tasks.parent / "all-away")
    await events.wait_for(changed("user", "broken"), after=mark)


async def test_an_edit_to_an_unused_template_reads_no_task(engine: Engine) -> None:
    tasks = engine.tasks_dir
    put(tasks / ".templates" / "spare" / "config.yaml", "timeout: 1\n")
    make_task(tasks, "plain")
    events = EventLog(engine)
    await engine.start()
    await engine.wait_watching()
    mark = events.mark()
    put(tasks / ".templates" / "spare" / "config.yaml", "timeout: 2\n")
    await events.wait_for(said(".templates/spare changed: no task extends it"), after=mark)
    assert changes_since(events, mark) == []


async def test_runs_never_make_the_engine_read_templates_again(engine: Engine) -> None:
    tasks = engine.tasks_dir
    put(tasks / ".templates" / "w" / "config.yaml", "executor: echo\n")
    make_task(tasks, "quiet", config="extends: w\n")
    reads = 0
    keeper = engine._templates
    real_refresh = keeper.refresh

    def counting_refresh() -> set[str]:
        nonlocal reads
        reads += 1
        return real_refresh()

    keeper.refresh = counting_refresh  # type: ignore[method-assign]
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
    await events.wait_for(changed("quiet", "updated"), after=mark)
    assert reads == 2


async def test_a_read_ahead_with_other_templates_is_not_taken(tmp_path: Path) -> None:
    put(tmp_path / ".templates" / "w" / "config.yaml", "executor: echo\ntimeout: 30\n")
    for n in range(5):
        make_task(tmp_path, f"t{n}", config="extends: w\n")
    lock = InstanceLock(tmp_path)
    assert lock.try_acquire()
    preload = Preload.begin(tmp_path, recover=True, force=True)
    assert preload is not None and preload.templates is not None
    preload.wait()
    # The template changes after the folders were read ahead: the engine reads them again.
    put(tmp_path / ".templates" / "w" / "config.yaml", "executor: echo\ntimeout: 40\n")
    eng = Engine(tmp_path, lock=lock, preload=preload)
    try:
        await eng.start()
        assert {config_of(eng, f"t{n}")[0] for n in range(5)} == {40}
    finally:
        await eng.stop()
