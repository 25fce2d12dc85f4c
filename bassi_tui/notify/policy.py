"""When a run is worth a message: a pure function of the task's ``notify:`` and two statuses.

Planning apart from doing (as in Dagu's scheduler): :func:`decide` only says *why* to send;
building the message and sending it are :mod:`~bassi_tui.notify.message` and
:mod:`~bassi_tui.notify.send`.
"""

from __future__ import annotations

from typing import Literal

from bassi_tui.store.models import NotifyConfig

__all__ = ["FAILURE_STATUSES", "REASONS", "Reason", "decide"]

Reason = Literal["failure", "recovery", "change", "success", "missed"]
"""Why a message is sent, as messages and the command channel's JSON name it."""

REASONS: tuple[Reason, ...] = ("failure", "missed", "recovery", "change", "success")
"""Every reason, most important first."""

FAILURE_STATUSES = frozenset({"failed", "timeout", "interrupted", "check_failed", "lost"})
"""Finished statuses that count as a failure: for ``on_failure``, streaks and recovery.

``cancelled`` (a person stopped the run) is not one: nobody needs telling what they just did.
"""


def decide(
    config: NotifyConfig, status: str, previous_status: str | None, changed: bool | None
) -> Reason | None:
    """Why to notify about a run that ended with ``status``, or None to stay quiet.

    ``previous_status`` is the status of the task's previous *run* (skipped and missed fires
    are not runs: leave them out), None before the first. ``changed`` says whether a successful
    run's output differs from the previous one (None when unknown or not compared).

    One message per run, for its most important reason: failure, then recovery, then change,
    then success. A failure is reported when ``on_failure`` is on, and with ``repeat: first``
    only when it starts a streak (the previous run did not fail); ``repeat: every`` reports each.
    A success after a failure is a recovery (``on_recovery``), whatever ``repeat`` says.

    ``missed`` (fires lost while the app was down, under ``missed_task_policy: notify``) gives
    ``"missed"`` when ``on_failure`` is on; the caller sends one per batch of missed fires.
    Any other status (running, skipped, cancelled) gives None.
    """
    if status in FAILURE_STATUSES:
        if not config.on_failure:
            return None
        if config.repeat == "every" or previous_status not in FAILURE_STATUSES:
            return "failure"
        return None
    if status == "missed":
        return "missed" if config.on_failure else None
    if status != "success":
        return None
    if config.on_recovery and previous_status in FAILURE_STATUSES:
        return "recovery"
    if config.on_change and changed is True:
        return "change"
    if config.on_success:
        return "success"
    return None
