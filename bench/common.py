"""Shared bench helpers: statistics, result rows, task trees, frame timing in the app.

Nothing here asserts: every figure is printed, with the raw limit of the stack measured in the
same run, and judged against its target. See ``bench/bench.py``.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: The fake key the tests use too; no real key is ever read or sent.
FAKE_KEY = "sk-ant-test-not-a-real-key"
#: Where ANTHROPIC_BASE_URL points when no fake server is running (the discard port).
NOWHERE = "http://127.0.0.1:9"
TMP_ROOT = Path("/tmp")
ECHO_CONFIG = "executor: echo\n"
FAR_SCHEDULE = "type: interval\nhours: 24\n"


def make_safe_env() -> None:
    """Point the SDK at loopback with a fake key, whatever the caller's environment holds."""
    os.environ["ANTHROPIC_API_KEY"] = FAKE_KEY
    os.environ["ANTHROPIC_BASE_URL"] = NOWHERE


# -- statistics -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of ``values``; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Series:
    """Numbers of one kind: reps or samples, in ``unit``."""

    values: list[float]
    unit: str

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else math.nan

    def pct(self, p: float) -> float:
        return percentile(self.values, p)

    def span(self) -> str:
        """``median (min..max)``, or n/a when empty."""
        if not self.values:
            return "n/a"
        return (
            f"{fmt(self.median, self.unit)} "
            f"({fmt(min(self.values), self.unit, bare=True)}..{fmt(max(self.values), self.unit)})"
        )


def fmt(value: float, unit: str, *, bare: bool = False) -> str:
    """A number with its unit, with sensible digits."""
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text if bare or not unit else f"{text} {unit}"


@dataclass
class Row:
    """One printed line of the bench: a figure beside its raw stack limit and its target."""

    figure: str
    measured: Series
    raw: Series | None
    raw_label: str
    target: str
    passed: bool | None
    #: Extra percentiles printed after the span, e.g. {"p95": 12.0}.
    pcts: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        pcts = "  ".join(f"{k} {fmt(v, self.measured.unit)}" for k, v in self.pcts.items())
        raw = f"{self.raw_label}: {self.raw.span()}" if self.raw is not None else self.raw_label
        verdict = {True: "PASS", False: "FAIL", None: "info"}[self.passed]
        return (
            f"{self.figure:<38} {self.measured.span():<28} {pcts:<26} | raw {raw:<46} "
            f"| {self.target:<22} {verdict}"
        )


def report(row: Row) -> Row:
    """Print a row (and its notes) as soon as it is known, and hand it back."""
    print(row.line(), flush=True)
    for note in row.notes:
        print(f"    · {note}", flush=True)
    return row


# -- task trees -------------------------------------------------------------------------------


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory under /tmp, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"bassi-bench-{prefix}-", dir=TMP_ROOT))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def task_name(n: int) -> str:
    return f"task-{n:05d}"


def write_task(
    root: Path,
    name: str,
    schedule: str = FAR_SCHEDULE,
    prompt: str = "Hello {task_name}\n",
    config: str = ECHO_CONFIG,
) -> Path:
    """A task folder written plainly (fast for 10,000 folders); returns it."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schedule.yaml").write_text(schedule, encoding="utf-8")
    (folder / "prompt.txt").write_text(prompt, encoding="utf-8")
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    return folder


def build_tree(root: Path, count: int, schedule: str = FAR_SCHEDULE) -> list[str]:
    """``count`` echo tasks nothing makes due; their names, sorted."""
    names = [task_name(n) for n in range(count)]
    for name in names:
        write_task(root, name, schedule)
    return names


def save_like_editor(path: Path, text: str) -> None:
    """Write a temp file and rename it over ``path``, as editors do."""
    tmp = path.with_name(f".{path.name}.bench-swp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# -- time and frames --------------------------------------------------------------------------


def now() -> float:
    """The bench's clock for latencies."""
    return time.perf_counter()


class FrameClock:
    """Resolves waiters on the first drawn frame after which ``predicate()`` holds.

    The app subclass in :mod:`bench.ui_app` calls :meth:`frame` from ``App._display``: a
    frame there is a compositor update that has been rendered (in a real terminal it would be
    written out right then).
    """

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[float]]] = []
        self.frames = 0

    def frame(self) -> None:
        self.frames += 1
        if not self._waiters:
            return
        stamp = now()
        keep = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            try:
                hit = predicate()
            except Exception as exc:  # a broken predicate must fail the figure, not hang it
                future.set_exception(exc)
                continue
            if hit:
                future.set_result(stamp)
            else:
                keep.append((predicate, future))
        self._waiters = keep

    def wait(self, predicate: Callable[[], bool]) -> asyncio.Future[float]:
        """A future for the time of the first frame drawn once ``predicate()`` holds."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future


async def bounded(awaitable: Awaitable[T], timeout: float, what: str) -> T:
    """Await with a hang guard that names what never came."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise TimeoutError(f"bench: timed out after {timeout:g} s waiting for {what}") from None


def proc_rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", math.nan), values.get("VmHWM", math.nan)


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its threads, from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
