"""bassi-tui benchmarks: every figure of the performance issue, beside the raw stack limit.

    .venv/bin/python bench/bench.py                 # every figure (about 8 minutes on 2 cores)
    .venv/bin/python bench/bench.py reload fire     # chosen figures
    .venv/bin/python bench/bench.py --quick         # smaller counts, fewer reps (< 1 minute)

Each figure is measured several times (reps or samples) and printed as ``median (min..max)``
with the percentile its target names, next to the raw limit of the stack measured in the same
run (bare watchfiles, bare ``loop.call_at``, a bare folder scan, an idle asyncio loop, the bare
SDK...), so a noisy machine shows up in both columns instead of lying. Nothing here asserts:
targets are judged PASS/FAIL and printed; the exit code is 0 either way.

Temp dirs live under /tmp and are removed. The Anthropic SDK only ever talks to a fake server on
127.0.0.1 with a fake key.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/ itself, where "bench" would name this file: import the
# bench package (and bassi_tui, tests) from the repository root instead.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.common import Row, make_safe_env  # noqa: E402

make_safe_env()  # before anything can import the SDK


@dataclass(frozen=True)
class Scale:
    """Counts and repetitions: the full run, or the --quick smoke run."""

    reload_tasks: int
    reload_edits: int
    fire_counts: tuple[int, int]
    fire_reps: int
    startup_counts: tuple[int, int]
    startup_reps: tuple[int, int]
    memory_tasks: int
    memory_reps: int
    idle_s: float
    idle_windows: int
    idle_tasks: int
    ui_cards: int
    ui_streams: int
    ui_presses: int
    ui_rounds: int
    big_mb: int
    big_reps: int
    stream_tokens: int
    stream_reps: int
    agent_turns: int = 5
    agent_reps: int = 5
    burst_count: int = 100
    burst_reps: int = 3
    workers_starts: int = 50
    workers_burst: int = 100
    workers_reps: int = 3


FULL = Scale(
    reload_tasks=1000,
    reload_edits=200,
    fire_counts=(100, 1000),
    fire_reps=3,
    startup_counts=(1000, 10_000),
    startup_reps=(5, 3),
    memory_tasks=10_000,
    memory_reps=3,
    idle_s=60,
    idle_windows=6,
    idle_tasks=1000,
    ui_cards=1000,
    ui_streams=20,
    ui_presses=90,
    ui_rounds=6,
    big_mb=50,
    big_reps=5,
    stream_tokens=5000,
    stream_reps=5,
)
QUICK = Scale(
    reload_tasks=200,
    reload_edits=8,
    fire_counts=(100, 200),
    fire_reps=1,
    startup_counts=(200, 500),
    startup_reps=(2, 1),
    memory_tasks=1000,
    memory_reps=1,
    idle_s=4,
    idle_windows=2,
    idle_tasks=200,
    ui_cards=200,
    ui_streams=5,
    ui_presses=10,
    ui_rounds=1,
    big_mb=50,
    big_reps=1,
    stream_tokens=1000,
    stream_reps=2,
    burst_reps=1,
    workers_starts=20,
    workers_reps=1,
)


async def _reload(s: Scale) -> list[Row]:
    from bench.reload_fig import bench_reload

    return await bench_reload(s.reload_tasks, s.reload_edits)


async def _fire(s: Scale) -> list[Row]:
    from bench.engine_figs import bench_fire

    few, many = s.fire_counts
    return [await bench_fire(few, s.fire_reps, 50), await bench_fire(many, s.fire_reps, 250)]


async def _startup(s: Scale) -> list[Row]:
    from bench.engine_figs import bench_startup
    from bench.procs import bench_launch

    (small, big), (small_reps, big_reps) = s.startup_counts, s.startup_reps
    return [
        *await bench_startup(small, small_reps, 1.0),
        await bench_launch(small, small_reps, 1.0),
        *await bench_startup(big, big_reps, 5.0),
        await bench_launch(big, big_reps, 5.0),
    ]


async def _memory(s: Scale) -> list[Row]:
    from bench.procs import bench_memory

    return [await bench_memory(s.memory_tasks, s.memory_reps)]


async def _idle(s: Scale) -> list[Row]:
    from bench.procs import bench_idle_cpu

    return [await bench_idle_cpu(s.idle_tasks, s.idle_s, s.idle_windows)]


async def _ui(s: Scale) -> list[Row]:
    from bench.ui_figs import bench_ui_load

    return await bench_ui_load(s.ui_cards, s.ui_streams, s.ui_presses, s.ui_rounds)


async def _big(s: Scale) -> list[Row]:
    from bench.ui_figs import bench_big_result

    return await bench_big_result(s.big_mb, s.big_reps)


async def _streaming(s: Scale) -> list[Row]:
    from bench.stream_fig import bench_streaming

    return await bench_streaming(s.stream_tokens, s.stream_reps)


async def _agent(s: Scale) -> list[Row]:
    from bench.agent_fig import bench_agent

    return await bench_agent(s.agent_turns, s.agent_reps, s.stream_tokens)


async def _burst(s: Scale) -> list[Row]:
    from bench.burst_fig import bench_burst

    return await bench_burst(s.burst_count, s.burst_reps)


async def _workers(s: Scale) -> list[Row]:
    from bench.workers_fig import bench_workers

    return await bench_workers(s.workers_starts, s.workers_burst, s.workers_reps)


FIGURES: dict[str, Callable[[Scale], Awaitable[list[Row]]]] = {
    "reload": _reload,
    "fire": _fire,
    "startup": _startup,
    "memory": _memory,
    "idle": _idle,
    "ui": _ui,
    "big": _big,
    "streaming": _streaming,
    "agent": _agent,
    "burst": _burst,
    "workers": _workers,
}


def machine() -> str:
    """nproc, CPU model and Python version, as the README quotes them."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


async def run(names: list[str], scale: Scale) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        began = time.perf_counter()
        print(f"\n== {name}", flush=True)
        rows.extend(await FIGURES[name](scale))
        print(f"   ({name}: {time.perf_counter() - began:.0f} s)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "figures",
        nargs="*",
        metavar="FIGURE",
        help=f"figures to run (default all): {', '.join(FIGURES)}",
    )
    parser.add_argument("--quick", action="store_true", help="small counts, few reps (< 1 min)")
    args = parser.parse_args(argv)
    names = args.figures or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figure {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    scale = QUICK if args.quick else FULL
    began = time.perf_counter()
    print(f"bassi-tui bench ({'quick' if args.quick else 'full'}) on {machine()}")
    if args.quick:
        print("quick: counts are smaller than the targets assume; verdicts are indicative only")
    rows = asyncio.run(run(names, scale))
    print(f"\n== summary ({time.perf_counter() - began:.0f} s)")
    for row in rows:
        print(row.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
