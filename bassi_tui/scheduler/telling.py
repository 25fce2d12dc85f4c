"""Telling people about a run, once it is recorded: its task's ``notify`` channels.

Only the instance that ran a run tells about it (the scheduling instance for its runs,
``bassi-tui run`` for its own), so two instances never send the same message twice; a monitor
sends nothing.

Sending never delays or fails a run: it starts after the run's records are written, runs in a
daemon thread with a timeout (15 s), and its outcome is added afterwards, to the run's metadata
(``notifications``) and to last_run.json (``notify_error``, shown on the card while a channel
fails). A daemon thread, not the loop's executor: quitting must not wait for a dead host; a
message still being sent when bassi-tui quits is lost, and the run's record then lists none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bassi_tui.notify.message import Message, build_message, message_for_run
from bassi_tui.notify.policy import Reason, decide
from bassi_tui.notify.send import DEFAULT_TIMEOUT, Delivery, send
from bassi_tui.scheduler.events import LogLevel
from bassi_tui.store.models import Task
from bassi_tui.store.records import NOT_RUNS, RunRecord, SentNotice, TaskState
from bassi_tui.store.results import write_run
from bassi_tui.store.state import update_state

__all__ = ["Told", "previous_status", "tell", "tell_budget", "tell_missed"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Say = Callable[[LogLevel, str, str | None], None]

#: How much of the output file is read for a message's first lines.
HEAD_BYTES = 8192
#: The variables whose values never appear in a message, whatever printed them.
SECRET_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


@dataclass(frozen=True, slots=True)
class Told:
    """A run's notification, sent: the record listing where it went, and the task's state."""

    reason: Reason
    record: RunRecord
    state: TaskState | None  # None when last_run.json could not be updated


def previous_status(state: TaskState) -> str | None:
    """The status of the run before the newest one in ``state`` (fires that were skipped or
    missed are not runs), or None when there was none."""
    runs = [entry for entry in state.history if entry.status not in NOT_RUNS]
    return runs[1].status if len(runs) > 1 else None


async def _in_daemon_thread(work: Callable[[], T]) -> T:
    """``work()`` in a daemon thread: unlike the loop's executor, nothing waits for it at exit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def body() -> None:
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting task
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, None, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=body, name="bassi-notify", daemon=True).start()
    return await done


def _head(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def _secrets(task: Task) -> list[str]:
    values = [os.environ.get(name, "") for name in SECRET_ENV]
    values += task.config.environment.values()
    return [value for value in values if value.strip()]


def _say_deliveries(
    say: Say, task: Task, message: Message, reason: Reason, deliveries: list[Delivery]
) -> None:
    for delivery in deliveries:
        if delivery.channel == "log":
            level: LogLevel = "warning" if reason in ("failure", "missed") else "info"
            say(level, f"Notify: {message.title}", task.name)
        elif delivery.ok:
            say("info", f"Task {task.name}: notified via {delivery.channel}", task.name)
        else:
            say(
                "error",
                f"Task {task.name}: notification via {delivery.channel} failed: {delivery.error}",
                task.name,
            )


async def _deliver(
    task: Task, message: Message, reason: Reason, state: TaskState, say: Say, timeout: float
) -> tuple[list[Delivery], TaskState | None]:
    """Send ``message`` to the task's channels, say how it went, and keep ``notify_error``
    in last_run.json true; the deliveries and the task's state after (None: not written)."""
    channels = task.config.notify.channels
    deliveries = await _in_daemon_thread(
        lambda: send(channels, message, timeout=timeout, cwd=task.path)
    )
    _say_deliveries(say, task, message, reason, deliveries)
    problem = "; ".join(f"{d.channel}: {d.error}" for d in deliveries if not d.ok) or None
    if problem == state.notify_error:
        return deliveries, state
    try:
        new_state = await asyncio.to_thread(
            update_state, task.path, lambda s: s.replace(notify_error=problem)
        )
    except OSError as exc:
        say("error", f"Task {task.name}: cannot record a notification problem: {exc}", None)
        return deliveries, None
    return deliveries, new_state


async def tell(
    task: Task,
    record: RunRecord,
    state: TaskState,
    *,
    say: Say,
    diff_head: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Told | None:
    """Send the notification ``record`` calls for, if any; None when none is due.

    ``state`` is the task's state with this run recorded (where the previous run's status is
    found). Never raises for a channel that fails: that is said and recorded.
    """
    notify = task.config.notify
    reason = decide(notify, record.status, previous_status(state), record.changed)
    if reason is None or not notify.channels:
        return None
    head = await asyncio.to_thread(_head, record.output_file)
    message = message_for_run(record, reason, output=head, diff=diff_head, secrets=_secrets(task))
    deliveries, new_state = await _deliver(task, message, reason, state, say, timeout)
    notices = tuple(SentNotice(d.channel, reason, d.ok, d.error) for d in deliveries)
    sent = record.replace(notifications=notices)
    try:
        await asyncio.to_thread(write_run, sent)
    except OSError as exc:
        say("error", f"Task {task.name}: cannot record its notifications: {exc}", task.name)
    return Told(reason, sent, new_state)


async def tell_missed(
    task: Task,
    what: str,
    count: int,
    state: TaskState,
    *,
    say: Say,
    timeout: float = DEFAULT_TIMEOUT,
) -> TaskState | None:
    """Tell about ``count`` fires missed while no bassi-tui scheduled (``what`` says which),
    for ``missed_task_policy: notify``; the task's state after, or None when nothing was sent."""
    notify = task.config.notify
    if decide(notify, "missed", None, None) is None or not notify.channels:
        return None
    message = build_message(
        task.name, "missed", "missed", error=what, missed=count, secrets=_secrets(task)
    )
    return (await _deliver(task, message, "missed", state, say, timeout))[1]


async def tell_budget(
    task: Task,
    reason: str,
    lifts: str,
    state: TaskState,
    *,
    say: Say,
    timeout: float = DEFAULT_TIMEOUT,
) -> TaskState | None:
    """Tell the task's ``on_failure`` channels that a budget stopped its fires (``reason`` has
    the figures; they resume ``lifts``); the task's state after, or None when nothing was sent.
    The caller sends it once per budget period."""
    notify = task.config.notify
    if not notify.on_failure or not notify.channels:
        return None
    error = f"{reason}; further fires are skipped until {lifts}"
    message = build_message(task.name, "failure", "budget", error=error)
    return (await _deliver(task, message, "failure", state, say, timeout))[1]
