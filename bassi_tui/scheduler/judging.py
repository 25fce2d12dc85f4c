"""What a successful run's output says: whether it passes its checks, and whether it changed.

Between the attempts and the record (see :func:`~bassi_tui.scheduler.runs.execute_run`):

- ``expect`` (and ``output.format: json``): a run whose attempts succeeded but whose output fails
  a check ends ``check_failed``, the reason as its error. A check is never retried: the model
  answered, and asking again is a different run.
- a success records whether its output differs from the previous successful run's
  (``changed``, ``change``), and keeps the diff's first lines for an ``on_change``
  notification.

The checks and the comparison are :mod:`bassi_tui.notify.checks` and
:mod:`bassi_tui.notify.changes`; this module only reads the files they need (in a thread).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from bassi_tui.notify.changes import compare, diff_lines
from bassi_tui.notify.checks import check_output
from bassi_tui.store.models import Task
from bassi_tui.store.records import TaskState, result_name

__all__ = ["CHECK_TIMEOUT", "COMPARE_MAX_BYTES", "Verdict", "judge"]

#: Seconds an ``expect.command`` may take.
CHECK_TIMEOUT = 60.0
#: Outputs larger than this are compared byte for byte only (no line counts, no diff).
COMPARE_MAX_BYTES = 8 * 1024 * 1024
#: Lines of the diff an ``on_change`` notification carries.
DIFF_HEAD_LINES = 20


@dataclass(frozen=True, slots=True)
class Verdict:
    """A successful run, judged: the check that failed (or None), and how its output changed."""

    check_error: str | None = None
    changed: bool | None = None
    change: str | None = None
    #: The first lines of the diff against the previous success (for on_change), else None.
    diff_head: str | None = None


def previous_success(task: Task, before: TaskState) -> Path | None:
    """The output file of the last successful run before this one, if it is still there."""
    for entry in before.history:
        if entry.status == "success" and (name := result_name(entry.result_file)) is not None:
            return task.results_dir / name
    return None


def _read(path: Path) -> tuple[bytes, str] | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data, data.decode("utf-8", "replace")


def _change(
    previous: tuple[bytes, str] | None, current: tuple[bytes, str], want_diff: bool
) -> Verdict:
    if previous is None:
        return Verdict(changed=None, change="first run")
    (old_bytes, old), (new_bytes, new) = previous, current
    if max(len(old_bytes), len(new_bytes)) > COMPARE_MAX_BYTES:
        same = old_bytes == new_bytes
        return Verdict(
            changed=not same, change="unchanged" if same else "changed (too large to count)"
        )
    change = compare(old, new)
    head = None
    if want_diff and change.changed:
        head = "\n".join(diff_lines(old, new, limit=DIFF_HEAD_LINES))
    return Verdict(changed=change.changed, change=change.stat, diff_head=head)


async def judge(task: Task, output: Path, before: TaskState, env: dict[str, str]) -> Verdict:
    """Check a successful run's ``output`` file and compare it with the previous success's."""
    config = task.config
    checked = not config.expect.empty or config.output.format == "json"
    current = await asyncio.to_thread(_read, output)
    if current is None:  # the folder went away mid-run: nothing to compare, maybe to check
        if checked:
            return Verdict(check_error=f"cannot read the result file {output.name} to check it")
        return Verdict()
    if checked:
        reason = await check_output(
            config.expect,
            current[1],
            output_format=config.output.format,
            cwd=task.path,
            env=env,
            timeout=CHECK_TIMEOUT,
        )
        if reason is not None:
            return Verdict(check_error=reason)
    earlier = previous_success(task, before)
    previous = await asyncio.to_thread(_read, earlier) if earlier is not None else None
    return await asyncio.to_thread(_change, previous, current, config.notify.on_change)
