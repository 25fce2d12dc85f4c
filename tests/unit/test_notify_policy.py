"""When a run is worth a message: streaks, repeats, recoveries, changes, missed fires."""

from __future__ import annotations

import pytest

from bassi_tui.notify.policy import FAILURE_STATUSES, decide
from bassi_tui.store.models import NotifyConfig


def streak(config: NotifyConfig, statuses: list[str]) -> list[str | None]:
    """What each run of a sequence would send, each judged against the run before it."""
    reasons: list[str | None] = []
    previous: str | None = None
    for status in statuses:
        reasons.append(decide(config, status, previous, changed=None))
        previous = status
    return reasons


RUNS = ["success", "failed", "timeout", "check_failed", "success", "interrupted", "success"]


def test_repeat_first_tells_the_first_failure_of_a_streak_and_the_recovery() -> None:
    assert streak(NotifyConfig(), RUNS) == [
        None,
        "failure",
        None,
        None,
        "recovery",
        "failure",
        "recovery",
    ]


def test_repeat_every_tells_each_failure() -> None:
    assert streak(NotifyConfig(repeat="every"), RUNS) == [
        None,
        "failure",
        "failure",
        "failure",
        "recovery",
        "failure",
        "recovery",
    ]


def test_a_first_run_that_fails_starts_a_streak() -> None:
    assert decide(NotifyConfig(), "failed", None, None) == "failure"


def test_without_on_failure_failures_are_quiet_but_recovery_still_tells() -> None:
    config = NotifyConfig(on_failure=False)
    assert streak(config, RUNS) == [None, None, None, None, "recovery", None, "recovery"]


def test_without_on_recovery_a_success_after_failure_is_quiet() -> None:
    assert decide(NotifyConfig(on_recovery=False), "success", "failed", None) is None
    assert decide(NotifyConfig(on_recovery=False, on_success=True), "success", "failed", None) == (
        "success"
    )


def test_on_success_tells_every_success() -> None:
    config = NotifyConfig(on_success=True, on_recovery=False)
    assert streak(config, ["success", "success", "failed", "success"]) == [
        "success",
        "success",
        "failure",
        "success",
    ]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [(True, "change"), (False, None), (None, None)],
)
def test_on_change_tells_only_a_changed_success(changed: bool | None, expected: str | None) -> None:
    assert decide(NotifyConfig(on_change=True), "success", "success", changed) == expected


def test_one_message_for_the_most_important_reason() -> None:
    everything = NotifyConfig(on_success=True, on_change=True, repeat="every")
    assert decide(everything, "success", "failed", True) == "recovery"
    assert decide(everything, "success", "success", True) == "change"
    assert decide(everything, "success", "success", False) == "success"
    assert decide(everything, "failed", "failed", True) == "failure"


def test_missed_fires_follow_on_failure() -> None:
    assert decide(NotifyConfig(), "missed", "success", None) == "missed"
    assert decide(NotifyConfig(), "missed", "failed", None) == "missed"
    assert decide(NotifyConfig(on_failure=False), "missed", None, None) is None


def test_a_lost_run_is_a_failure_to_tell() -> None:
    """A run whose worker went silent (runs_on) may have done nothing: people must hear."""
    assert decide(NotifyConfig(), "lost", "success", None) == "failure"
    assert decide(NotifyConfig(), "success", "lost", None) == "recovery"


@pytest.mark.parametrize("status", ["running", "skipped", "cancelled", "weird"])
def test_other_statuses_never_notify(status: str) -> None:
    config = NotifyConfig(on_success=True, on_change=True, repeat="every")
    assert decide(config, status, "failed", True) is None


def test_the_failure_statuses() -> None:
    assert (
        frozenset({"failed", "timeout", "interrupted", "check_failed", "lost"}) == FAILURE_STATUSES
    )
