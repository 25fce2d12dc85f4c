"""config.yaml ``notify:``: when to tell people about a run, and through which channels.

::

    notify:
      on_failure: true        # a failed, timed-out, interrupted or check_failed run [true]
      on_recovery: true       # the first success after a failure [true]
      on_success: false       # every success [false]
      on_change: false        # a success whose output changed [false]
      repeat: first           # first: once per streak of failures; every: each one [first]
      channels:               # [log]; an empty list means no channel at all
        - log                                   # the app's log
        - ntfy://ntfy.sh/my-topic               # any Apprise URL
        - {command: [notify-send-json, --urgent]}  # a program, the message as JSON on stdin

Channel URLs hold tokens and passwords: every message here shows them masked
(:func:`~bassi_tui.store.masking.mask_url`), never as written. URLs are checked by Apprise
itself, which is imported only when a URL is present (see :mod:`~bassi_tui.store.apprise_check`).

A bad channel is reported and left out; the good ones are kept, so a task that runs despite its
problems still reaches the channels that work.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bassi_tui.store.apprise_check import check_url
from bassi_tui.store.masking import mask_url
from bassi_tui.store.models import NotifyChannel, NotifyConfig, NotifyRepeat, task_path
from bassi_tui.store.parse_common import Field, Report, fields, given, opt, read_bool, read_choice
from bassi_tui.store.yamlio import YMap, YNode, YScalar, YSeq, kind

__all__ = ["NOTIFY_KEYS", "REPEATS", "read_notify"]

NOTIFY_KEYS = ("on_failure", "on_recovery", "on_success", "on_change", "repeat", "channels")
REPEATS: tuple[NotifyRepeat, ...] = ("first", "every")
COMMAND_CHANNEL_KEYS = ("command",)

_EXPECTED = "log, an Apprise URL (e.g. ntfy://ntfy.sh/topic) or {command: [argv]}"
# Names people may carry over from other tools or the original design: not channels here.
_OLD_NAMES = {
    "email": "mailto://user:app-password@gmail.com",
    "mail": "mailto://user:app-password@gmail.com",
    "webhook": "json://host/path (jsons:// for https)",
    "desktop": "dbus:// (Linux) or macosx://",
    "slack": "slack://TokenA/TokenB/TokenC",
    "ntfy": "ntfy://ntfy.sh/topic",
}


def read_notify(f: Field, report: Report, folder: Path | None = None) -> NotifyConfig | None:
    """``notify:`` as a :class:`NotifyConfig`; each bad key is reported and its default used.

    ``folder`` is the task folder: with it, a command channel's relative program is checked
    there (as the sender runs it); without it, only bare names (on PATH) and absolute paths are.
    """
    if not isinstance(f.node, YMap):
        report.add(
            f.line, f"notify: expected a mapping of {', '.join(NOTIFY_KEYS)}, got {kind(f.node)}"
        )
        return None
    got = fields(f.node, NOTIFY_KEYS, report, prefix="notify.")
    d = NotifyConfig()

    def flag(name: str, default: bool) -> bool:
        return opt(got, name, lambda x: read_bool(x, report, f"notify.{name}"), default)

    return NotifyConfig(
        on_success=flag("on_success", d.on_success),
        on_failure=flag("on_failure", d.on_failure),
        on_recovery=flag("on_recovery", d.on_recovery),
        on_change=flag("on_change", d.on_change),
        repeat=opt(
            got, "repeat", lambda x: read_choice(x, report, "notify.repeat", REPEATS), d.repeat
        ),
        channels=opt(got, "channels", lambda x: _channels(x, report, folder), d.channels),
    )


def _channels(f: Field, report: Report, folder: Path | None) -> tuple[NotifyChannel, ...] | None:
    if not isinstance(f.node, YSeq):
        report.add(
            f.line,
            f"notify.channels: expected a list of channels, each {_EXPECTED}; got {kind(f.node)}",
        )
        return None
    channels: list[NotifyChannel] = []
    lines: dict[NotifyChannel, int] = {}
    for item in f.node.items:
        channel = _channel(item, report, folder)
        if channel is None:
            continue
        if channel in lines:  # the same message twice through one channel is never wanted
            report.add(
                item.line,
                f"notify.channels: {channel.label()} is listed twice (first on line "
                f"{lines[channel]})",
            )
            continue
        lines[channel] = item.line
        channels.append(channel)
    return tuple(channels)


def _channel(node: YNode, report: Report, folder: Path | None) -> NotifyChannel | None:
    if isinstance(node, YMap):
        return _command_channel(node, report, folder)
    if not isinstance(node, YScalar) or not isinstance(node.value, str) or not node.value.strip():
        report.add(node.line, f"notify.channels: expected {_EXPECTED}; got {kind(node)}")
        return None
    text = node.value.strip()
    if text.lower() == "log":
        return NotifyChannel("log")
    if "://" not in text:
        old = _OLD_NAMES.get(text.lower())
        if old is not None:
            report.add(
                node.line,
                f"notify.channels: {text.lower()!r} is not a channel; give an Apprise URL, "
                f"e.g. {old}",
            )
        else:
            # Not a URL, so possibly a bare token pasted in: never quote it.
            report.add(node.line, f"notify.channels: not a channel; expected {_EXPECTED}")
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        report.add(node.line, f"notify.channels: {mask_url(text)}: contains control characters")
        return None
    problem = check_url(text)
    if problem is not None:
        report.add(node.line, f"notify.channels: {mask_url(text)}: {problem}")
        return None
    return NotifyChannel("apprise", url=text)


def _command_channel(node: YMap, report: Report, folder: Path | None) -> NotifyChannel | None:
    label = "notify.channels"
    problems = len(report.problems)
    got = fields(node, COMMAND_CHANNEL_KEYS, report, prefix=f"{label}.")
    f = given(got, "command")
    example = "e.g. {command: [python3, notify.py]}"
    if f is None:
        if len(report.problems) == problems:  # `comand:` has its "did you mean" already
            report.add(node.line, f"{label}: a command channel needs command: [argv], {example}")
        return None
    if not isinstance(f.node, YSeq) or not f.node.items:
        shown = "an empty list" if isinstance(f.node, YSeq) else kind(f.node)
        report.add(f.line, f"{label}.command: expected a list (argv), {example}; got {shown}")
        return None
    argv: list[str] = []
    for number, item in enumerate(f.node.items, start=1):
        # Source text, as for `command:`; arguments may be secrets: say which, not what.
        if isinstance(item, YScalar) and not item.is_null and item.raw and "\0" not in item.raw:
            argv.append(item.raw)
        else:
            report.add(
                item.line,
                f"{label}.command: argument {number} is {kind(item)}; expected a non-empty string",
            )
    if len(argv) != len(f.node.items) or len(report.problems) > problems:
        return None
    problem = _unrunnable(argv[0], folder)
    if problem is not None:
        report.add(f.node.items[0].line, f"{label}.command: {problem}")
        return None
    return NotifyChannel("command", command=tuple(argv))


def _unrunnable(program: str, folder: Path | None) -> str | None:
    """Why ``program`` cannot be started, or None (also when it cannot be known yet)."""
    shown = repr(program if len(program) <= 300 else program[:297] + "...")
    if "/" not in program:
        if shutil.which(program) is None:
            return f"{shown} is not found on PATH; install it or give its full path"
        return None
    if folder is None and not os.path.isabs(os.path.expanduser(program)):
        return None  # relative to the task folder, which is not known here
    target = task_path(folder or Path("/"), program)
    if not os.path.exists(target):
        return f"{shown} does not exist"
    if os.path.isdir(target) or not os.access(target, os.X_OK):
        return f"{shown} is not an executable file (chmod +x?)"
    return None
