"""Run analytics: records written with the store's own writer into a tasks dir, read back, and
every figure checked against one worked out by hand here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bassi_tui.notify.policy import FAILURE_STATUSES
from bassi_tui.store.analytics import (
    FAILURES,
    Summary,
    TaskTotal,
    daily,
    day_window,
    per_task,
    percentile,
    read_runs,
    summarize,
    top_spenders,
)
from bassi_tui.store.records import RunRecord
from bassi_tui.store.results import list_results, write_run

NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)  # a Monday


def record(
    tasks: Path,
    task: str,
    start: datetime,
    status: str = "success",
    *,
    duration: float | None = 10.0,
    tokens: tuple[int, int] | None = (100, 50),
    cost: float | None = 0.01,
) -> RunRecord:
    """One run's metadata, written as the engine writes it."""
    results = tasks / task / "results"
    results.mkdir(parents=True, exist_ok=True)
    stem = start.strftime("%Y-%m-%d_%H-%M-%S")
    run = RunRecord(
        meta_file=results / f"{stem}.json",
        output_file=results / f"{stem}.txt",
        task_name=task,
        status=status,
        start=start,
        run_id=stem,
        duration=duration,
        input_tokens=tokens[0] if tokens else None,
        output_tokens=tokens[1] if tokens else None,
        cost_usd=cost,
    )
    write_run(run, durable=False)
    return run


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    """Two tasks over four days (1 March is Sunday, 2 March is today)::

    digest  26 Feb success 4 s $0.10     | 1 Mar failed 61 s, no tokens, no cost
            2 Mar success 4 s $0.10      | 2 Mar running (left out)
    report  1 Mar success 20 s $1.50     | 1 Mar timeout 600 s $0.25 | 2 Mar cancelled 1 s
    """
    root = tmp_path / "tasks"
    record(root, "digest", datetime(2026, 2, 26, 7, 30, tzinfo=UTC), duration=4.0, cost=0.1)
    record(
        root,
        "digest",
        datetime(2026, 3, 1, 7, 30, tzinfo=UTC),
        "failed",
        duration=61.0,
        tokens=None,
        cost=None,
    )
    record(root, "digest", datetime(2026, 3, 2, 7, 30, tzinfo=UTC), duration=4.0, cost=0.1)
    record(root, "digest", datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "running", duration=None)
    record(
        root,
        "report",
        datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        duration=20.0,
        tokens=(2000, 1000),
        cost=1.5,
    )
    record(
        root, "report", datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "timeout", duration=600.0, cost=0.25
    )
    record(
        root, "report", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "cancelled", duration=1.0, cost=0.0
    )
    return root


def runs_of(tasks: Path) -> dict[str, list[RunRecord]]:
    return {name: list_results(tasks / name / "results") for name in ("digest", "report")}


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    # Ten values 1..10: rank ceil(0.5*10)=5 -> 5; rank ceil(0.95*10)=10 -> 10.
    values = [float(v) for v in range(10, 0, -1)]
    assert percentile(values, 50) == 5.0 and percentile(values, 95) == 10.0
    # Three values: ranks ceil(1.5)=2 and ceil(2.85)=3.
    assert percentile([4.0, 61.0, 4.0], 50) == 4.0 and percentile([4.0, 61.0, 4.0], 95) == 61.0


def test_a_summary_counts_finished_runs_and_knows_an_unknown_cost(tasks: Path) -> None:
    digest = runs_of(tasks)["digest"]
    # Finished: 26 Feb success, 1 Mar failed, 2 Mar success; the running one is left out.
    assert summarize(digest) == Summary(
        runs=3,
        successes=2,
        failures=1,
        duration_p50=4.0,  # of 4, 4, 61
        duration_p95=61.0,
        input_tokens=200,
        output_tokens=100,
        cost_usd=0.2,  # the failed run recorded no cost: it adds nothing
    )
    failed_only = [r for r in digest if r.status == "failed"]
    assert summarize(failed_only).cost_usd is None  # runs, and none said what it cost
    assert summarize([]) == Summary()  # no run: nothing spent
    assert summarize([]).cost_usd == 0.0 and summarize([]).success_rate is None


def test_cancelled_is_a_run_but_not_a_failure(tasks: Path) -> None:
    report = summarize(runs_of(tasks)["report"])
    assert (report.runs, report.successes, report.failures) == (3, 1, 1)
    assert report.success_rate == pytest.approx(1 / 3)
    # Tokens: 2000+1000, then 100+50 twice.
    assert report.cost_usd == 1.75 and report.tokens == 3300


def test_days_run_oldest_first_and_end_today(tasks: Path) -> None:
    every = [r for runs in runs_of(tasks).values() for r in runs]
    series = daily(every, NOW, 3, UTC)
    assert (series.first, series.last) == (date(2026, 2, 28), date(2026, 3, 2))
    assert [d.day for d in series.days] == [date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2)]
    saturday, sunday, monday = (d.summary for d in series.days)
    assert saturday == Summary()
    # Sunday: digest failed 61 s (no tokens, no cost); report success 20 s and timeout 600 s.
    assert (sunday.runs, sunday.successes, sunday.failures) == (3, 1, 2)
    assert (sunday.duration_p50, sunday.duration_p95) == (61.0, 600.0)
    assert (sunday.input_tokens, sunday.output_tokens) == (2100, 1050)
    assert sunday.cost_usd == 1.75
    # Monday: digest success 4 s $0.10, report cancelled 1 s $0; the running run is left out.
    assert (monday.runs, monday.successes, monday.failures) == (2, 1, 0)
    assert (monday.duration_p50, monday.duration_p95) == (1.0, 4.0)
    assert monday.cost_usd == 0.1
    # The total is the window's: 26 February is outside it.
    assert series.total.runs == 5 and series.total.cost_usd == 1.85
    assert series.total.to_json() == {
        "runs": 5,
        "successes": 2,
        "success_rate": 0.4,
        "duration_p50": 20.0,  # of 1, 4, 20, 61, 600: rank 3
        "duration_p95": 600.0,
        "input_tokens": 2300,  # 2000 + 100 on Sunday, 100 + 100 on Monday
        "output_tokens": 1150,
        "cost_usd": 1.85,
    }


def test_a_day_is_a_date_in_the_zone_asked(tmp_path: Path) -> None:
    # 23:30 UTC on 1 March is already 2 March in Berlin (UTC+1).
    late = record(tmp_path, "t", datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    in_utc = daily([late], NOW, 2, UTC)
    in_berlin = daily([late], NOW, 2, ZoneInfo("Europe/Berlin"))
    assert [d.summary.runs for d in in_utc.days] == [1, 0]
    assert [d.summary.runs for d in in_berlin.days] == [0, 1]
    assert day_window(NOW, 7, UTC) == (date(2026, 2, 24), date(2026, 3, 2))
    with pytest.raises(ValueError):
        day_window(NOW, 0)


def test_read_runs_stops_a_day_before_the_window(tasks: Path) -> None:
    results = tasks / "digest" / "results"
    # From 2 March: 1 March is the margin, 26 February is never returned.
    starts = [r.start for r in read_runs(results, date(2026, 3, 2), UTC)]
    assert starts == [
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 7, 30, tzinfo=UTC),
        datetime(2026, 3, 1, 7, 30, tzinfo=UTC),
    ]
    assert len(read_runs(results, date(2026, 2, 1), UTC)) == 4
    assert read_runs(tasks / "nothing" / "results", date(2026, 2, 1), UTC) == []


def test_per_task_totals_and_the_top_spenders(tasks: Path) -> None:
    totals = per_task(runs_of(tasks))
    assert [t.name for t in totals] == ["digest", "report"]
    assert [t.summary.cost_usd for t in totals] == [0.2, 1.75]
    free = TaskTotal("free", Summary(runs=4, cost_usd=0.0))
    unpriced = TaskTotal("unpriced", Summary(runs=2, cost_usd=None))
    tie = TaskTotal("another", Summary(runs=1, cost_usd=0.2))
    top = top_spenders([*totals, free, unpriced, tie])
    assert [t.name for t in top] == ["report", "another", "digest"]  # a tie goes by name
    assert [t.name for t in top_spenders([*totals, tie], limit=1)] == ["report"]


def test_failures_are_what_notifications_call_failures() -> None:
    # The store cannot import notify (it is below it): the two lists are kept equal here.
    assert FAILURES == FAILURE_STATUSES
