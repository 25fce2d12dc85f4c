"""Figures about the engine and the folders: fire precision and start-up."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import EngineEvent, RunStarted
from bassi_tui.ui.task_list import TaskList
from bench.common import (
    Row,
    Series,
    bounded,
    build_tree,
    now,
    percentile,
    report,
    temp_dir,
)
from bench.ui_app import SIZE, BenchApp

# -- fire precision ---------------------------------------------------------------------------


@dataclass
class FireRep:
    late_ms: list[float]  # RunStarted.started_at − slot: when the engine began the run
    seen_ms: list[float]  # a subscriber's clock − slot: when RunStarted reached the UI
    fired: int
    start_s: float


async def _fire_rep(count: int, lead: float) -> FireRep | None:
    """``count`` once tasks due at the same second; None when the start outran the lead."""
    with temp_dir("fire") as root:
        # Whole seconds: the schedule cannot say more, and the slot must be exactly it.
        slot = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        schedule = f'type: once\ndatetime: "{slot:%Y-%m-%d %H:%M:%S}"\ntimezone: UTC\n'
        build_tree(root, count, schedule)
        engine = Engine(root)
        started: dict[str, datetime] = {}
        seen: list[datetime] = []
        all_in = asyncio.Event()

        def on_event(event: EngineEvent) -> None:
            if isinstance(event, RunStarted):
                seen.append(datetime.now(UTC))
                started[event.task] = event.started_at
                if len(started) == count:
                    all_in.set()

        engine.subscribe(on_event)
        t0 = now()
        await engine.start()
        start_s = now() - t0
        try:
            # Steady state: what a start does in the background (arming the watcher, writing
            # the new tree's next runs) is done before the slot, as it is in a running app.
            await engine.wait_watching()
            await engine.wait_promised()
            if datetime.now(UTC) > slot - timedelta(seconds=0.3):
                return None
            wait = (slot - datetime.now(UTC)).total_seconds() + 30 + count / 50
            with contextlib.suppress(TimeoutError):  # some never fired: counted as missed
                await asyncio.wait_for(all_in.wait(), wait)
            await bounded(engine.wait_idle(), 120, "the runs to end")
        finally:
            await engine.stop()
        late = [(at - slot).total_seconds() * 1000 for at in started.values()]
        heard = [(at - slot).total_seconds() * 1000 for at in seen]
        return FireRep(late, heard, len(started), start_s)


def _raw_run_files(root: Path, count: int) -> float:
    """Seconds to create, one after another, the files ``count`` run starts create.

    Per run: results/, the output file, the "running" metadata and last_run.json, the last two
    written atomically with fsync (as the store does). The floor of a burst of fires whose
    runs each wait for their files.
    """
    from bassi_tui.store.atomic import atomic_write_json

    t0 = now()
    for n in range(count):
        results = root / f"t{n}" / "results"
        results.mkdir(parents=True)
        (results / "out.txt").touch()
        atomic_write_json(results / "meta.json", {"status": "running"})
        atomic_write_json(results.parent / "last_run.json", {"once_fired": True})
    return now() - t0


async def _raw_call_at(count: int) -> list[float]:
    loop = asyncio.get_running_loop()
    when = loop.time() + 0.3
    late: list[float] = []
    done = asyncio.Event()

    def fire() -> None:
        late.append((loop.time() - when) * 1000)
        if len(late) == count:
            done.set()

    for _ in range(count):
        loop.call_at(when, fire)
    await bounded(done.wait(), 30, "call_at callbacks")
    return late


async def bench_fire(count: int, reps: int, p99_target: float) -> Row:
    """Fire precision of ``count`` tasks due in one second, ``reps`` times."""
    late: list[float] = []
    heard: list[float] = []
    raw: list[float] = []
    per_rep_p99: list[float] = []
    missed = 0
    lead = 3.0 + count / 250
    starts = []
    done = 0
    with temp_dir("fire-files") as root:
        files_s = await asyncio.to_thread(_raw_run_files, root, count)
    while done < reps:
        raw.extend(await _raw_call_at(count))
        rep = await _fire_rep(count, lead)
        if rep is None:
            lead *= 2  # the start took longer than the lead: try again with more
            continue
        done += 1
        starts.append(rep.start_s)
        lead = max(lead, 2.0 + 2 * rep.start_s)
        late.extend(rep.late_ms)
        heard.extend(rep.seen_ms)
        per_rep_p99.append(percentile(rep.late_ms, 99))
        missed += count - rep.fired
    p99 = percentile(late, 99)
    row = Row(
        f"fire: {count} due at once",
        Series(late, "ms"),
        Series(raw, "ms"),
        "call_at",
        f"none missed, p99 ≤ {p99_target:g} ms",
        missed == 0 and p99 <= p99_target,
        pcts={"p99": p99, "max": max(late, default=float("nan"))},
        notes=[
            f"{reps} reps × {count}; missed {missed}; p99 per rep "
            f"{Series(per_rep_p99, 'ms').span()}; raw call_at p99 {percentile(raw, 99):.2f} ms; "
            f"engine start {Series(starts, 's').span()}",
            f"RunStarted as a subscriber saw it: p50 {percentile(heard, 50):.1f} ms, "
            f"p99 {percentile(heard, 99):.1f} ms, max {max(heard, default=float('nan')):.1f} ms",
            f"file floor: the {count} runs' start files made one after another take "
            f"{files_s * 1000:,.0f} ms on this disk ({files_s * 1e6 / count:,.0f} µs per run)",
        ],
    )
    return report(row)


# -- start-up ---------------------------------------------------------------------------------


def raw_scan(root: Path) -> int:
    """The floor: list the folders and read their three files, no parsing."""
    total = 0
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            for name in ("schedule.yaml", "prompt.txt", "config.yaml"):
                with open(os.path.join(entry.path, name), "rb") as handle:
                    total += len(handle.read())
    return total


async def _engine_start(root: Path) -> float:
    engine = Engine(root)
    t0 = now()
    await engine.start()
    took = now() - t0
    await engine.stop()
    return took


async def _first_start(root: Path) -> tuple[float, float]:
    """A first launch on a new tree: start, and start → every next run promised on disk."""
    engine = Engine(root)
    t0 = now()
    await engine.start()
    took = now() - t0
    await engine.wait_promised()
    promised = now() - t0
    await engine.stop()
    return took, promised


async def _app_first_frame(root: Path, count: int) -> tuple[float, float]:
    """Launch → first frame with every card; and launch → the app idle again."""
    t0 = now()
    engine = Engine(root)
    app = BenchApp(root, engine)

    def loaded() -> bool:
        return engine.started and len(app.query_one(TaskList).names) == count

    frame = app.frames.wait(loaded)
    async with app.run_test(size=SIZE) as pilot:
        t1 = await bounded(frame, 300, "the first frame with every card")
        await bounded(app.workers.wait_for_complete(), 300, "the start worker")
        await pilot.pause()
        t2 = now()
    return t1 - t0, t2 - t0


async def bench_startup(count: int, reps: int, target_s: float) -> list[Row]:
    """Engine start and app first frame over ``count`` folders, beside the raw scan."""
    with temp_dir("startup") as root:
        build_tree(root, count)
        first, promised = await _first_start(root)  # first launch ever: writes every state
        raws, engines, frames, settled = [], [], [], []
        for _ in range(reps):
            t0 = now()
            raw_scan(root)
            raws.append(now() - t0)
            engines.append(await _engine_start(root))
            frame, idle = await _app_first_frame(root, count)
            frames.append(frame)
            settled.append(idle)
    raw = Series(raws, "s")
    rows = [
        Row(
            f"start-up: Engine.start ({count})",
            Series(engines, "s"),
            raw,
            "scan+read",
            f"≤ {target_s:g} s",
            Series(engines, "s").median <= target_s,
            notes=[
                f"first launch on a new tree: {first:.2f} s; its {count:,} next runs are on disk "
                f"{promised:.2f} s after launch (written in the background)"
            ],
        ),
        Row(
            f"start-up: app first frame ({count})",
            Series(frames, "s"),
            raw,
            "scan+read",
            f"≤ {target_s:g} s",
            Series(frames, "s").median <= target_s,
            notes=[
                f"launch → app idle again (queued events handled): {Series(settled, 's').span()}"
            ],
        ),
    ]
    return [report(r) for r in rows]
