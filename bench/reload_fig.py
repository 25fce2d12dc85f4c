"""Hot reload: a task file saved → the task rescheduled (engine) and its card drawn (app).

Beside each save, a bare ``watchfiles.awatch(tree, debounce=50, step=20)`` on the same tree times
the same write: the raw limit of the stack.
"""

from __future__ import annotations

import asyncio
import random
import threading
from functools import partial
from pathlib import Path

from watchfiles import awatch

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import EngineEvent, TaskChanged
from bassi_tui.ui.task_list import TaskList
from bench.common import (
    Row,
    Series,
    bounded,
    build_tree,
    now,
    percentile,
    report,
    save_like_editor,
    temp_dir,
)
from bench.ui_app import SIZE, BenchApp


class _Armed:
    """A stop event for awatch that also says when the watch is in place (see store.watcher)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Event) -> None:
        self._loop, self._ready, self._told = loop, ready, False
        self._stop = threading.Event()

    def is_set(self) -> bool:
        if not self._told:
            self._told = True
            self._loop.call_soon_threadsafe(self._ready.set)
        return self._stop.is_set()

    def set(self) -> None:
        self._stop.set()


class RawWatch:
    """A bare ``awatch(tree, debounce=50, step=20)`` loop: when did it yield a given path?"""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._ready = asyncio.Event()
        self._stop = _Armed(asyncio.get_running_loop(), self._ready)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for changes in awatch(
            self.root, debounce=50, step=20, stop_event=self._stop, rust_timeout=5000
        ):
            stamp = now()
            for _, path in changes:
                future = self._waiting.pop(path, None)
                if future is not None and not future.done():
                    future.set_result(stamp)

    async def ready(self) -> None:
        await bounded(self._ready.wait(), 30, "the raw watch to arm")

    def expect(self, path: Path) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[str(path)] = future
        return future

    async def close(self) -> None:
        self._stop.set()
        await self._task


class ChangeLog:
    """Engine subscriber: the time each task's next TaskChanged arrived."""

    def __init__(self, engine: Engine) -> None:
        self._waiting: dict[str, asyncio.Future[tuple[float, EngineEvent]]] = {}
        engine.subscribe(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, TaskChanged) and event.change == "updated":
            future = self._waiting.pop(event.name, None)
            if future is not None and not future.done():
                future.set_result((now(), event))

    def expect(self, name: str) -> asyncio.Future[tuple[float, EngineEvent]]:
        future: asyncio.Future[tuple[float, EngineEvent]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[name] = future
        return future


def _card_shows(cards: TaskList, name: str, event: TaskChanged) -> bool:
    return cards.view(name) is event.view


def _edit_text(k: int) -> str:
    return f"type: interval\nhours: 24\nminutes: {k % 59 + 1}\n"


async def _reload_engine(root: Path, names: list[str], edits: int) -> tuple[list[float], ...]:
    """Engine alone: write → TaskChanged, beside the raw watch on the same writes."""
    engine = Engine(root)
    changes = ChangeLog(engine)
    await engine.start()
    await engine.wait_watching()  # steady state: the watcher is armed after start() returns
    raw = RawWatch(root)
    await raw.ready()
    got, base = [], []
    try:
        for k in range(edits):
            name = names[(k * 37) % len(names)]
            path = root / name / "schedule.yaml"
            seen, raw_seen = changes.expect(name), raw.expect(path)
            t0 = now()
            save_like_editor(path, _edit_text(k))
            t1, _ = await bounded(seen, 10, f"TaskChanged for {name}")
            t2 = await bounded(raw_seen, 10, f"raw awatch to see {path}")
            got.append((t1 - t0) * 1000)
            base.append((t2 - t0) * 1000)
            await asyncio.sleep(0.1 + random.random() * 0.05)
    finally:
        await raw.close()
        await engine.stop()
    return got, base


async def _reload_app(root: Path, names: list[str], edits: int) -> tuple[list[float], ...]:
    """With the app: write → the card drawn anew, beside the raw watch on the same writes."""
    engine = Engine(root)
    changes = ChangeLog(engine)
    app = BenchApp(root, engine)
    drawn, heard, base = [], [], []
    async with app.run_test(size=SIZE) as pilot:
        await bounded(app.workers.wait_for_complete(), 120, "the engine to start")
        await bounded(engine.wait_watching(), 120, "the watcher to be armed")
        await pilot.pause()
        cards = app.query_one(TaskList)
        name = cards.selected or names[0]  # the card on screen: its redraw is what counts
        raw = RawWatch(root)
        await raw.ready()
        try:
            for k in range(edits):
                path = root / name / "schedule.yaml"
                seen, raw_seen = changes.expect(name), raw.expect(path)
                t0 = now()
                save_like_editor(path, _edit_text(k + 7))
                t1, event = await bounded(seen, 10, f"TaskChanged for {name}")
                assert isinstance(event, TaskChanged)
                frame = app.frames.wait(partial(_card_shows, cards, name, event))
                t2 = await bounded(frame, 10, "the card to be drawn")
                t3 = await bounded(raw_seen, 10, f"raw awatch to see {path}")
                heard.append((t1 - t0) * 1000)
                drawn.append((t2 - t0) * 1000)
                base.append((t3 - t0) * 1000)
                await asyncio.sleep(0.1 + random.random() * 0.05)
        finally:
            await raw.close()
    return drawn, heard, base


async def bench_reload(tasks: int, edits: int) -> list[Row]:
    """Hot reload over ``tasks`` folders, ``edits`` saves, engine and app."""
    rows = []
    with temp_dir("reload") as root:
        names = build_tree(root, tasks)
        got, base = await _reload_engine(root, names, edits)
        rows.append(_reload_row(f"reload → TaskChanged ({tasks} tasks)", got, base))
        drawn, heard, base2 = await _reload_app(root, names, edits)
        row = _reload_row(f"reload → card drawn ({tasks} tasks)", drawn, base2)
        row.notes.append(
            f"in the app, write → TaskChanged: {Series(heard, 'ms').span()}, "
            f"p95 {percentile(heard, 95):.1f} ms"
        )
        rows.append(row)
    return [report(r) for r in rows]


def _reload_row(figure: str, got: list[float], base: list[float]) -> Row:
    p95 = percentile(got, 95)
    return Row(
        figure,
        Series(got, "ms"),
        Series(base, "ms"),
        "awatch",
        "p95 ≤ 100 ms",
        p95 <= 100,
        pcts={"p50": percentile(got, 50), "p95": p95},
        notes=[f"raw awatch p95 {percentile(base, 95):.1f} ms; {len(got)} saves"],
    )
