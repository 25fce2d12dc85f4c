"""Delivering a message to a task's channels, each within a time bound, never raising.

:func:`send` blocks (network, child processes): call it from a thread, or await
:func:`send_async`, which does. Channels are served at once, one thread each, so a dead host
cannot delay the others, and the whole call returns within ``timeout`` (plus a moment): a
channel that has not answered by then is reported as failed. Each channel is also bounded on
its own: Apprise's socket timeouts are lowered to the time left, a command is killed (its whole
process group) when its time is up.

Every outcome is a :class:`Delivery`, named by the channel's masked label; its error never
holds a channel URL's secret or a command's arguments, whatever the service or program wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bassi_tui.notify.message import Message
from bassi_tui.store.apprise_check import check_url, load_apprise
from bassi_tui.store.inert import inert
from bassi_tui.store.masking import mask_secrets
from bassi_tui.store.models import NotifyChannel, task_path

__all__ = ["DEFAULT_TIMEOUT", "Delivery", "send", "send_async"]

DEFAULT_TIMEOUT = 15.0
"""Seconds a whole :func:`send` may take."""
ERROR_CHARS = 300
"""Longest error a Delivery carries."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """How sending to one channel went: its masked label, ok, and why not (masked, inert)."""

    channel: str
    ok: bool
    error: str | None = None


def send(
    channels: Sequence[NotifyChannel],
    message: Message,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
) -> list[Delivery]:
    """Send ``message`` to every channel; one :class:`Delivery` per channel, in order.

    Blocking: meant for a thread (see :func:`send_async`). Never raises. ``log`` channels are
    reported ok at once; writing the log line is the caller's job, as it owns the log. ``cwd``
    (the task folder) is where command channels run, and what their relative program paths
    are relative to.
    """
    secrets = _secrets(channels)
    timeout = max(timeout, 0.1)
    deadline = time.monotonic() + timeout
    # A channel's own bound ends a little before the overall one, so a command is killed and
    # reported by its own thread rather than abandoned still running.
    own_deadline = deadline - min(1.0, timeout * 0.1)
    results: list[Delivery | None] = [None] * len(channels)
    threads: list[tuple[int, threading.Thread]] = []
    for index, channel in enumerate(channels):
        if channel.kind == "log":
            results[index] = Delivery("log", True)
            continue
        thread = threading.Thread(
            target=_serve,
            args=(results, index, channel, message, own_deadline, cwd, secrets),
            name=f"bassi-notify-{index}",
            daemon=True,  # a stuck service must never keep the app from exiting
        )
        thread.start()
        threads.append((index, thread))
    for _, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    deliveries: list[Delivery] = []
    for index, channel in enumerate(channels):
        result = results[index]
        if result is None:
            result = Delivery(_label(channel), False, f"no answer within {timeout:g} s")
        deliveries.append(result)
    return deliveries


async def send_async(
    channels: Sequence[NotifyChannel],
    message: Message,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
) -> list[Delivery]:
    """:func:`send` in a worker thread, for the event loop. Never raises."""
    return await asyncio.to_thread(send, channels, message, timeout=timeout, cwd=cwd)


def _label(channel: NotifyChannel) -> str:
    try:
        return inert(channel.label())
    except Exception:  # a label must never stop a delivery report
        return "***"


def _secrets(channels: Sequence[NotifyChannel]) -> list[str]:
    """What must never appear in an error: channel URLs (with their parts) and command
    arguments (tokens are often passed as arguments)."""
    found: list[str] = []
    for channel in channels:
        if channel.url:
            found.append(channel.url)
        found.extend(arg for arg in channel.command[1:] if len(arg) >= 4)
    return found


def _clean(text: str, secrets: Sequence[str]) -> str:
    text = inert(mask_secrets(text.strip(), secrets))
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."


def _serve(
    results: list[Delivery | None],
    index: int,
    channel: NotifyChannel,
    message: Message,
    deadline: float,
    cwd: Path | None,
    secrets: Sequence[str],
) -> None:
    """One channel's delivery, in its own thread: the result goes in ``results[index]``."""
    error: str | None
    try:
        if channel.kind == "apprise":
            url = channel.url
            ok, error = _send_apprise(url, message, deadline) if url else (False, "no URL")
        elif channel.kind == "command":
            ok, error = _send_command(channel.command, message, deadline, cwd)
        else:
            ok, error = False, f"unknown channel kind {channel.kind!r}"
    except Exception as exc:  # never let one channel's bug become a crash
        ok, error = False, f"{type(exc).__name__}: {exc}"
    results[index] = Delivery(
        _label(channel), ok, None if ok else _clean(error or "failed", secrets)
    )


class _Capture(logging.Handler):
    """Apprise's log lines from one thread: they are the only place it says why it failed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:  # other deliveries run at the same time
            return
        with contextlib.suppress(Exception):  # a bad format string in a plugin: skip it
            self.lines.append((record.levelno, record.getMessage()))

    def reason(self) -> str:
        """The last warning or error, with the socket error behind it when one was logged."""
        warnings = [text for level, text in self.lines if level >= logging.WARNING]
        sockets = [text for _, text in self.lines if text.startswith("Socket Exception")]
        reason = warnings[-1] if warnings else "Apprise reported a failure without a reason"
        return f"{reason} ({sockets[-1]})" if sockets else reason


def _send_apprise(url: str, message: Message, deadline: float) -> tuple[bool, str | None]:
    apprise = load_apprise()
    capture = _Capture()
    logger = logging.getLogger(apprise.LOGGER_NAME)
    logger.addHandler(capture)
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=False)
        if plugin is None:
            return False, check_url(url) or "Apprise cannot use this URL"
        # Per-socket bounds: connecting and each read may take at most the time left.
        budget = round(max(0.1, deadline - time.monotonic()), 1)
        plugin.socket_connect_timeout = min(float(plugin.socket_connect_timeout), budget)
        plugin.socket_read_timeout = min(float(plugin.socket_read_timeout), budget)
        kind = {
            "failure": apprise.NotifyType.FAILURE,
            "missed": apprise.NotifyType.WARNING,
            "recovery": apprise.NotifyType.SUCCESS,
            "success": apprise.NotifyType.SUCCESS,
        }.get(message.reason, apprise.NotifyType.INFO)
        ok = bool(
            plugin.notify(
                body=message.body,
                title=message.title,
                notify_type=kind,
                body_format=apprise.NotifyFormat.TEXT,
            )
        )
    finally:
        logger.removeHandler(capture)
    return ok, None if ok else capture.reason()


def _send_command(
    argv: Sequence[str], message: Message, deadline: float, cwd: Path | None
) -> tuple[bool, str | None]:
    """Run ``argv`` with the message as JSON on stdin; exit 0 is delivered."""
    if not argv:
        return False, "no command"
    program = argv[0]
    if "/" in program:  # as config.yaml paths are: ~ expanded, relative to the task folder
        program = str(task_path(cwd, program)) if cwd else os.path.expanduser(program)
    payload = json.dumps(message.to_json()).encode()
    try:
        proc = subprocess.Popen(
            [program, *argv[1:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,  # its own process group: a timeout kills helpers too
        )
    except OSError as exc:
        return False, f"cannot start {argv[0]}: {exc.strerror or type(exc).__name__}"
    budget = max(0.0, deadline - time.monotonic())
    timed_out = False
    try:
        _, err = proc.communicate(payload, timeout=budget)
    except subprocess.TimeoutExpired:
        # Still running: timed out. Exited: its exit counts; a helper only held stderr open.
        timed_out = proc.poll() is None
        _kill_group(proc.pid)
        try:
            _, err = proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:  # a helper left the group and keeps the pipe
            err = b""
            proc.kill()
            proc.wait()
    if timed_out:
        return False, f"{argv[0]} did not finish within {budget:.1f} s; stopped"
    code = proc.returncode
    if code == 0:
        return True, None
    lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    what = f"exit status {code}" if code > 0 else f"killed by signal {-code}"
    return False, f"{argv[0]} failed ({what})" + (f": {lines[-1]}" if lines else "")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):  # already gone
        os.killpg(pgid, signal.SIGKILL)
