"""Spend by day and month, budgets, and the keys that set them (budget, runs_on, workers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.store.models import Budget
from bassi_tui.store.parse_config import parse_config
from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.settings import parse_settings
from bassi_tui.store.spend import Spend, over_budget

NOON = datetime(2026, 12, 4, 12, 0).astimezone()


def test_spend_adds_within_a_period_and_starts_a_new_one_afresh() -> None:
    spend = Spend().add(NOON, 0.5).add(NOON + timedelta(hours=1), 0.25)
    assert spend == Spend("2026-12-04", 0.75, "2026-12", 0.75)
    next_day = spend.add(NOON + timedelta(days=1), 1.0)
    assert next_day == Spend("2026-12-05", 1.0, "2026-12", 1.75)
    next_month = next_day.add(NOON + timedelta(days=30), 2.0)
    assert next_month == Spend("2027-01-03", 2.0, "2027-01", 2.0)
    # What was spent reads 0 once its period is over.
    assert next_day.at(NOON + timedelta(days=1)) == (1.0, 1.75)
    assert next_day.at(NOON + timedelta(days=2)) == (0.0, 1.75)
    assert next_day.at(NOON + timedelta(days=40)) == (0.0, 0.0)


def test_a_late_record_of_a_past_day_counts_in_its_month_only() -> None:
    spend = Spend().add(NOON + timedelta(days=1), 1.0).add(NOON, 0.5)
    assert spend == Spend("2026-12-05", 1.0, "2026-12", 1.5)
    assert Spend().add(NOON + timedelta(days=30), 1.0).add(NOON, 9.0).month_usd == 1.0


def test_spend_reads_back_and_refuses_what_is_not_one() -> None:
    spend = Spend("2026-12-04", 0.75, "2026-12", 0.75)
    assert Spend.from_json(spend.to_json()) == spend
    for bad in ([], {"day_usd": "lots"}, {"day": 4}, {"month_usd": -1}, {"day_usd": True}):
        assert Spend.from_json(bad) is None
    state = TaskState.from_json({"spend": {"day_usd": "lots"}}, "t")
    assert state.damaged and state.spend is None


def record(start: datetime, cost: float | None, name: str) -> RunRecord:
    return RunRecord(
        meta_file=Path(f"/t/results/{name}.json"),
        output_file=Path(f"/t/results/{name}.txt"),
        task_name="t",
        start=start,
        status="success",
        duration=1.0,
        cost_usd=cost,
    )


def test_a_states_spend_counts_each_runs_cost_once() -> None:
    state = TaskState("t").with_record(record(NOON, 0.2, "a"), None)
    state = state.with_record(record(NOON, 0.2, "a"), None)  # the same run again: no change
    state = state.with_record(record(NOON, None, "b"), None)  # no cost recorded
    assert state.spend == Spend("2026-12-04", 0.2, "2026-12", 0.2)
    assert TaskState.from_json(state.to_json(), "t").spend == state.spend


def test_over_budget_says_which_limit_with_the_figures() -> None:
    spend = Spend("2026-12-04", 1.0, "2026-12", 9.0)
    assert over_budget(Budget(daily_usd=2.0), spend, NOON) is None
    hit = over_budget(Budget(daily_usd=1.0), spend, NOON)
    assert hit is not None and hit.reason == "budget: $1.00 of $1.00 today"
    assert hit.lifts == "tomorrow" and hit.key == "2026-12-04"
    hit = over_budget(Budget(daily_usd=5.0, monthly_usd=8.0), spend, NOON)
    assert hit is not None and hit.reason == "budget: $9.00 of $8.00 this month"
    assert over_budget(Budget(daily_usd=1.0), spend, NOON + timedelta(days=1)) is None
    together = Spend("2026-12-04", 3.0, "2026-12", 3.0)
    hit = over_budget(Budget(), None, NOON, total=Budget(daily_usd=3.0), spends=[together])
    assert hit is not None and hit.scope == "all tasks"
    assert hit.reason == "budget: $3.00 of $3.00 today (all tasks, bassi.yaml)"


def test_config_reads_budget_and_runs_on() -> None:
    config, problems = parse_config(
        "t", "budget: {daily_usd: 2, monthly_usd: 30.5}\nruns_on: gpu\n"
    )
    assert problems == []
    assert config.budget == Budget(2.0, 30.5) and config.runs_on == "gpu"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("budget: 5\n", "budget: expected a mapping of daily_usd, monthly_usd, got a number"),
        ("budget: {daily_usd: 0}\n", "budget.daily_usd: expected a number > 0"),
        ("budget: {}\n", "budget: expected daily_usd and/or monthly_usd"),
        ("budget: {dayly_usd: 1}\n", "did you mean 'daily_usd'"),
        ("runs_on: 'gpu box'\n", "runs_on: 'gpu box' is not a worker label"),
        ("runs_on: 3\n", "runs_on: expected a string"),
    ],
)
def test_bad_budget_and_runs_on_are_said_with_their_line(text: str, said: str) -> None:
    config, problems = parse_config("t", "timeout: 5\n" + text)
    assert len(problems) == 1 and problems[0].line == 2
    assert said in problems[0].message, problems[0].message
    assert config.budget == Budget() and config.runs_on is None


def test_bassi_yaml_reads_budget_and_workers_and_never_shows_the_url() -> None:
    text = "budget: {monthly_usd: 100}\nworkers: {url: 'redis://:hunter22@db:6379/1'}\n"
    settings, problems = parse_settings(text)
    assert problems == []
    assert settings.budget == Budget(None, 100.0)
    assert settings.workers_url == "redis://:hunter22@db:6379/1"
    settings, problems = parse_settings("workers: {url: 'http://u:hunter22@db/'}\n")
    assert settings.workers_url is None
    [problem] = problems
    assert "expected a redis://" in problem.message and "hunter22" not in problem.message
    _, problems = parse_settings("workers: {}\n")
    assert "workers: needs url" in problems[0].message
