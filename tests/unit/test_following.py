"""Following: a monitor's reading of another instance's files, told as run events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from bassi_tui.scheduler.following import Following, Seen
from bassi_tui.store.records import RunRecord, TaskState

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=2)))
RESULTS = Path("/tasks/t/results")


def run(stem: str, status: str, run_id: str) -> RunRecord:
    return RunRecord(RESULTS / f"{stem}.json", RESULTS / f"{stem}.txt", "t", status, T0, run_id)


def test_a_run_is_told_once_as_begun_then_once_as_ended() -> None:
    following, state = Following(), TaskState("t")
    running, done = run("a", "running", "r1"), run("a", "success", "r1")
    assert following.look("t", state, state, running) == Seen(began=running)
    assert following.running_since("t") == T0
    assert following.look("t", state, state, running) == Seen()  # nothing new
    counted = state.replace(run_count=1)
    assert following.look("t", state, counted, done) == Seen(ended=done)
    assert following.running_since("t") is None
    assert following.look("t", counted, counted, done) == Seen()


def test_a_run_followed_at_once_by_the_next_ends_the_first() -> None:
    following, state = Following(), TaskState("t")
    first, second = run("a", "running", "r1"), run("b", "running", "r2")
    following.look("t", state, state, first)
    seen = following.look("t", state, state.replace(run_count=1), second)
    assert seen == Seen(ended=first, began=second)  # the caller reads first's end from its file


def test_a_run_that_began_and_ended_between_two_looks_is_told_by_its_end() -> None:
    following, state = Following(), TaskState("t")
    done = run("a", "success", "r1")
    assert following.look("t", state, state.replace(run_count=1), done) == Seen(ended=done)
    assert following.look("t", None, state, done) == Seen()  # first look: nothing to compare
