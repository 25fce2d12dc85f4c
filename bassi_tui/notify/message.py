"""What a notification says: which task, what happened, when, how long, and a glimpse of it.

Everything in a message comes from task folders and model output, and ends up on phones, in
mail clients and in terminals: all of it is made inert first (no control character, no escape
sequence; see :mod:`bassi_tui.store.inert`), and output is cut to its first lines so a
10 MB result cannot become a 10 MB message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_tui.notify.policy import Reason
from bassi_tui.store.inert import inert, inert_output
from bassi_tui.store.masking import mask_secrets
from bassi_tui.store.records import RunRecord

__all__ = ["Message", "build_message", "head", "message_for_run"]

OUTPUT_LINES, OUTPUT_CHARS = 10, 1000
"""How much of a run's output a message quotes."""
DIFF_LINES, DIFF_CHARS = 20, 1000
"""How much of a change's diff a message quotes."""
ERROR_LINES, ERROR_CHARS = 5, 500
"""How much of an error a message quotes."""
_MASKED_CHARS = 64 * 1024
"""Secrets are searched for in this much of a text before its head is cut."""
TASK_CHARS = 120
"""Task names are folder names and can be long; titles should fit a phone's banner."""

_FAILED = {
    "failed": "failed",
    "timeout": "timed out",
    "interrupted": "was interrupted",
    "check_failed": "failed its checks",
    "budget": "reached its budget",
}


@dataclass(frozen=True, slots=True)
class Message:
    """One notification, ready for any channel: ``title`` and ``body`` are plain inert text.

    The other fields are what the message was built from (inert too), for channels that take
    structured data: the command channel gets them as JSON (:meth:`to_json`).
    """

    title: str
    body: str
    task: str = ""
    reason: str = ""
    status: str = ""
    start: str | None = None
    duration: float | None = None
    error: str | None = None
    output_head: str | None = None
    diff_head: str | None = None
    result_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The message as a JSON object: every field, by name."""
        return {
            "task": self.task,
            "reason": self.reason,
            "status": self.status,
            "title": self.title,
            "body": self.body,
            "start": self.start,
            "duration": self.duration,
            "error": self.error,
            "output_head": self.output_head,
            "diff_head": self.diff_head,
            "result_file": self.result_file,
        }


def head(text: str, lines: int, chars: int) -> str:
    """The first ``lines`` lines of ``text``, at most ``chars`` characters, inert; ``...`` on a
    line of its own says something was cut."""
    parts = text.strip("\r\n").replace("\r\n", "\n").split("\n", lines)
    cut = "\n".join(parts[:lines]).rstrip()
    more = len(parts) > lines
    if len(cut) > chars:
        cut, more = cut[:chars].rstrip(), True
    cut = inert_output(cut)
    return cut + "\n..." if more else cut


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _title(task: str, reason: Reason, status: str, missed: int) -> str:
    if reason == "failure":
        what = _FAILED.get(status, inert(status))
    elif reason == "missed":
        what = "missed a run" if missed <= 1 else f"missed {missed} runs"
    else:
        what = {"recovery": "recovered", "change": "changed", "success": "succeeded"}[reason]
    return f"bassi-tui: {task} {what}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def build_message(
    task: str,
    reason: Reason,
    status: str,
    *,
    start: datetime | None = None,
    duration: float | None = None,
    error: str | None = None,
    output: str | None = None,
    diff: str | None = None,
    result_file: str | Path | None = None,
    missed: int = 1,
    secrets: Iterable[str] = (),
) -> Message:
    """The message about one run (or one batch of ``missed`` fires) of ``task``.

    ``output`` is the run's text (only its first lines are quoted), ``diff`` the change from
    the previous output (for ``change``), ``result_file`` where the full output is. Every
    string in ``secrets`` (e.g. the task's environment values) is masked out of the error,
    output and diff, which may echo them.
    """
    hidden = tuple(secrets)

    def clean(text: str | None, lines: int, chars: int) -> str | None:
        if not text or not text.strip():
            return None
        # Mask a generous prefix only: outputs can be huge, and what is quoted is its start.
        return head(mask_secrets(text[:_MASKED_CHARS], hidden), lines, chars)

    name = inert(task if len(task) <= TASK_CHARS else task[: TASK_CHARS - 3] + "...")
    shown_status = inert(status)
    when = start.isoformat(sep=" ", timespec="seconds") if start is not None else None
    error_head = clean(error, ERROR_LINES, ERROR_CHARS)
    output_head = clean(output, OUTPUT_LINES, OUTPUT_CHARS)
    diff_head = clean(diff, DIFF_LINES, DIFF_CHARS) if reason == "change" else None
    result = inert(str(result_file)) if result_file else None

    lines = [f"Task: {name}", f"What: {reason} ({shown_status})"]
    if when is not None:
        lines.append(f"When: {when}")
    if duration is not None:
        lines.append(f"Took: {_duration(duration)}")
    if error_head is not None:
        lines += ["Error:", _indent(error_head)]
    if output_head is not None:
        lines += ["Output (first lines):", _indent(output_head)]
    if diff_head is not None:
        lines += ["Change:", _indent(diff_head)]
    if result is not None:
        lines.append(f"Result: {result}")
    return Message(
        title=_title(name, reason, status, missed),
        body="\n".join(lines),
        task=name,
        reason=reason,
        status=shown_status,
        start=when,
        duration=duration,
        error=error_head,
        output_head=output_head,
        diff_head=diff_head,
        result_file=result,
    )


def message_for_run(
    record: RunRecord,
    reason: Reason,
    *,
    output: str | None = None,
    diff: str | None = None,
    secrets: Iterable[str] = (),
) -> Message:
    """:func:`build_message` for a recorded run: task, status, times, error and result file
    come from its :class:`~bassi_tui.store.records.RunRecord`."""
    return build_message(
        record.task_name,
        reason,
        record.status,
        start=record.start,
        duration=record.duration,
        error=record.error,
        output=output,
        diff=diff,
        result_file=record.output_file,
        secrets=secrets,
    )
