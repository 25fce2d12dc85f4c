"""What the run records say over time: per day, per task, and who spends the most.

Pure functions over :class:`RunRecord` values (and one reader, :func:`read_runs`, that reads a
task's newest records only as far back as a window needs). ``bassi-tui stats`` and the app's
stats screen both count with these, so a figure is the same wherever it is shown.

What counts, and how:

- A *run* is a finished record; one still ``running`` is left out until it ends.
- A *failure* is a run that ended ``failed``, ``timeout``, ``interrupted``, ``check_failed`` or
  ``lost``; ``cancelled`` (a person stopped it) is a run, but neither a success nor a failure.
- Durations are the nearest-rank 50th and 95th percentiles of the runs that have one.
- Tokens are the records' input and output tokens (a record without them adds 0).
- A cost is the record's ``cost_usd``; days or tasks whose runs recorded none have an unknown
  cost (None), not a zero one. With no run at all the cost is 0.
- A day is a calendar date in a zone: the one given, else this machine's local time (with its
  summer time), as the ``stats`` command has always counted. Days run oldest to newest and end
  with the day of ``now``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from bassi_tui.store.records import RunRecord
from bassi_tui.store.results import iter_results_newest

__all__ = [
    "FAILURES",
    "Day",
    "Series",
    "Summary",
    "TaskTotal",
    "daily",
    "day_of",
    "day_window",
    "per_task",
    "percentile",
    "read_runs",
    "run_cost",
    "sum_known",
    "summarize",
    "top_spenders",
]

#: The endings that count as a failure in these figures: notify's ``FAILURE_STATUSES`` (the
#: store is below notify, so a test keeps the two equal).
FAILURES = frozenset({"failed", "timeout", "interrupted", "check_failed", "lost"})


def run_cost(record: RunRecord) -> float | None:
    """What ``record`` cost in US dollars; None when it recorded no cost."""
    value = record.cost_usd
    if value is None:
        value = record.extra.get("cost_usd")  # a record from a bassi-tui that kept it as extra
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def sum_known(values: Iterable[float | None]) -> float | None:
    """The sum of the known values (rounded to 6 places); None when none is known."""
    known = [v for v in values if v is not None]
    return round(sum(known), 6) if known else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank ``pct`` percentile (rounded to 3 places); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of some runs (a day's, a task's, all of them)."""

    runs: int = 0
    successes: int = 0
    failures: int = 0
    duration_p50: float | None = None
    duration_p95: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    #: US dollars; None when runs were made and none recorded a cost.
    cost_usd: float | None = 0.0

    @property
    def success_rate(self) -> float | None:
        """Successes over runs (0..1); None with no run."""
        return self.successes / self.runs if self.runs else None

    @property
    def tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict[str, Any]:
        """The keys ``bassi-tui stats --json`` prints, in its order."""
        return {
            "runs": self.runs,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "duration_p50": self.duration_p50,
            "duration_p95": self.duration_p95,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }


def summarize(records: Iterable[RunRecord]) -> Summary:
    """The figures of the finished runs among ``records``."""
    finished = [r for r in records if not r.running]
    durations = [r.duration for r in finished if r.duration is not None]
    return Summary(
        runs=len(finished),
        successes=sum(1 for r in finished if r.status == "success"),
        failures=sum(1 for r in finished if r.status in FAILURES),
        duration_p50=percentile(durations, 50),
        duration_p95=percentile(durations, 95),
        input_tokens=sum(r.input_tokens or 0 for r in finished),
        output_tokens=sum(r.output_tokens or 0 for r in finished),
        cost_usd=sum_known(run_cost(r) for r in finished) if finished else 0.0,
    )


# -- days -----------------------------------------------------------------------------------------


def day_window(now: datetime, days: int, zone: tzinfo | None = None) -> tuple[date, date]:
    """The first and the last date of the ``days`` days that end on ``now``'s date in ``zone``
    (None: this machine's local time)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    today = now.astimezone(zone).date()
    return today - timedelta(days=days - 1), today


def day_of(record: RunRecord, zone: tzinfo | None = None) -> date | None:
    """The date ``record`` started on in ``zone``; None without a time-zone aware start."""
    start = record.start
    if start is None or start.tzinfo is None:
        return None
    return start.astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class Day:
    """One day's figures."""

    day: date
    summary: Summary


@dataclass(frozen=True, slots=True)
class Series:
    """Figures per day over a window (every day of it, oldest first), and their total."""

    first: date
    last: date
    days: tuple[Day, ...]
    total: Summary


def daily(
    records: Iterable[RunRecord], now: datetime, days: int, zone: tzinfo | None = None
) -> Series:
    """The figures of each of the ``days`` days ending on ``now``'s date (runs outside the
    window are left out), and of the whole window."""
    first, last = day_window(now, days, zone)
    by_day: dict[date, list[RunRecord]] = {first + timedelta(days=i): [] for i in range(days)}
    for record in records:
        day = day_of(record, zone)
        if day is not None and day in by_day:
            by_day[day].append(record)
    every = [r for runs in by_day.values() for r in runs]
    return Series(
        first=first,
        last=last,
        days=tuple(Day(day, summarize(runs)) for day, runs in by_day.items()),
        total=summarize(every),
    )


def read_runs(results_dir: Path, since: date, zone: tzinfo | None = None) -> list[RunRecord]:
    """A task's records that started on ``since`` or later (and a day before, as a margin),
    newest first; the older ones are never read.

    Records are named by their start in the writer's local time, so reading stops at the first
    one more than a day older than ``since``: a zone apart never hides a run of the window.
    """
    margin = since - timedelta(days=1)
    out: list[RunRecord] = []
    for record in iter_results_newest(results_dir):
        day = day_of(record, zone)
        if day is None:
            continue
        if day < margin:
            break
        out.append(record)
    return out


# -- tasks ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskTotal:
    """One task's figures."""

    name: str
    summary: Summary


def per_task(runs: Mapping[str, Iterable[RunRecord]]) -> list[TaskTotal]:
    """Each task's figures from its records, by name."""
    return [TaskTotal(name, summarize(runs[name])) for name in sorted(runs)]


def top_spenders(totals: Iterable[TaskTotal], limit: int = 5) -> list[TaskTotal]:
    """The ``limit`` tasks that cost the most, most first (ties by name); tasks that cost
    nothing, or recorded no cost, are not spenders."""
    spenders = [t for t in totals if t.summary.cost_usd]
    spenders.sort(key=lambda t: (-(t.summary.cost_usd or 0.0), t.name))
    return spenders[:limit]
