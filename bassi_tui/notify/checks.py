"""Result checks (config.yaml ``expect:``): does a successful run's output look right?

:func:`check_output` runs the checks cheapest first and returns the first failure's reason, a
one-line sentence for run metadata, the log and notifications, or ``None`` when all pass:
``min_chars``/``max_chars``, ``contains``, ``not_contains``, ``regex``, ``json``, then
``command``. The caller turns a reason into the ``check_failed`` status.

Reasons are inert (:func:`~bassi_tui.store.inert.inert`): no control character survives, since
a reason may end up in a terminal title, a log line or a chat message. Quoted texts, regexes and
stderr lines are cut to :data:`QUOTE_MAX` characters; program and folder names are shown whole.

Big outputs: ``in``, ``json.loads`` and a regex over 50 MB take long enough to freeze the app,
so the content checks run in a worker thread when the text is over :data:`THREAD_AT`
characters, and always when there are regexes (a regex's cost is not bounded by the text's
size). A thread cannot be stopped: a catastrophically backtracking regex keeps its thread busy
after the run is cancelled, but no longer holds up the event loop.

The check command gets the output on stdin (UTF-8), runs in the task folder without a shell, in
its own session (its own process group), with the task's ``environment:`` on top of the app's.
Exit 0 passes. On timeout or cancellation the whole group gets SIGTERM, then SIGKILL after
:data:`~bassi_tui.executor.process_group.KILL_GRACE` seconds; after a normal exit the group
gets SIGKILL too, so nothing a check started outlives it. Values of the task's environment and
the API key are masked as ``***`` in the stderr line a reason quotes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import Mapping
from pathlib import Path

from bassi_tui.executor.command_runner import SECRET_ENV_VARS
from bassi_tui.executor.process_group import KILL_GRACE, signal_group, stop_group
from bassi_tui.store.inert import inert
from bassi_tui.store.models import ExpectConfig
from bassi_tui.store.parse_expect import REGEX_FLAGS

__all__ = ["QUOTE_MAX", "THREAD_AT", "check_output", "command_reason"]

QUOTE_MAX = 60
"""Longest quoted string (expected text, regex, stderr line) in a reason."""

THREAD_AT = 256 * 1024
"""Texts with at least this many characters are checked in a worker thread."""

_READ_SIZE = 65536
_TAIL_BYTES = 4096
_MIN_SECRET_LEN = 4  # shorter values would blank ordinary words out of the message


def _cut(text: str) -> str:
    """``text`` cut to QUOTE_MAX characters (before escaping, so an escape is never split)."""
    return inert(text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 1] + "…")


def _quote(text: str) -> str:
    """``'text'``, cut and made inert."""
    return f"'{_cut(text)}'"


def _name(path: str) -> str:
    """``'path'`` made inert but whole: a program or folder is recognised by its end."""
    return f"'{inert(path)}'"


async def check_output(
    expect: ExpectConfig,
    text: str,
    *,
    output_format: str,
    cwd: Path,
    env: Mapping[str, str] | None,
    timeout: float = 60.0,
) -> str | None:
    """The first failed check's reason, or ``None`` when every check passes.

    ``output_format == "json"`` implies ``expect.json``. ``cwd`` is the task folder, where the
    check command runs; ``env`` the task's ``environment:`` (added to the app's own, and masked
    in reasons); ``timeout`` the seconds the check command may take.
    """
    want_json = expect.json or output_format == "json"
    if len(text) >= THREAD_AT or expect.regex:
        reason = await asyncio.to_thread(_content_reason, expect, text, want_json)
    else:
        reason = _content_reason(expect, text, want_json)
    if reason is None and expect.command:
        reason = await command_reason(expect.command, text, cwd=cwd, env=env or {}, timeout=timeout)
    return reason


def _content_reason(expect: ExpectConfig, text: str, want_json: bool) -> str | None:
    """Every check but the command, cheapest first. Synchronous: may run in a thread."""
    if expect.min_chars is not None or expect.max_chars is not None:
        # Outer whitespace is not counted: a run that printed only blank lines said nothing.
        size = len(text.strip())
        if expect.min_chars is not None and size < expect.min_chars:
            return f"expect.min_chars: {size} chars, at least {expect.min_chars} expected"
        if expect.max_chars is not None and size > expect.max_chars:
            return f"expect.max_chars: {size} chars, at most {expect.max_chars} expected"
    for wanted in expect.contains:
        if wanted not in text:
            return f"expect.contains {_quote(wanted)} not found"
    for unwanted in expect.not_contains:
        at = text.find(unwanted)
        if at >= 0:
            return f"expect.not_contains {_quote(unwanted)} found (line {_line_of(text, at)})"
    for pattern in expect.regex:
        try:
            found = re.search(pattern, text, REGEX_FLAGS)
        except re.error as exc:  # a config built without parse_expect
            return f"expect.regex {_quote(pattern)} is not a valid regular expression: {exc.msg}"
        if found is None:
            return f"expect.regex {_quote(pattern)} did not match"
    if want_json:
        return _json_reason(text)
    return None


def _line_of(text: str, index: int) -> int:
    """1-based line number of ``text[index]``."""
    return text.count("\n", 0, index) + 1


def _json_reason(text: str) -> str | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return (
            f"expect.json: not valid JSON (line {exc.lineno}, column {exc.colno}: {inert(exc.msg)})"
        )
    except RecursionError:
        return "expect.json: not valid JSON (nested too deeply to read)"
    return None


async def command_reason(
    argv: tuple[str, ...],
    text: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    label: str = "expect.command",
) -> str | None:
    """Run a check command (``text`` on its stdin); why it failed, or None on exit 0.

    ``label`` names it in the reason (``expect.command``, ``when.command``).
    """
    program = _name(argv[0])
    if not cwd.is_dir():  # else a missing folder would read as "command not found"
        return f"{label}: task folder {_name(str(cwd))} is missing"
    full_env = {**os.environ, **env}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=full_env,
            start_new_session=True,
        )
    except FileNotFoundError:
        return f"{label} {program} not found"
    except PermissionError:
        return f"{label} {program} is not executable"
    except OSError as exc:
        return f"{label} {program} could not start: {inert(exc.strerror or str(exc))}"

    out_tail, err_tail = bytearray(), bytearray()
    helpers = [
        # stdin is written while the pipes are read: a check that prints before it has read
        # all of a big output would otherwise deadlock with us.
        asyncio.create_task(_feed(proc, text.encode("utf-8", errors="replace"))),
        asyncio.create_task(_keep_tail(proc.stdout, out_tail)),
        asyncio.create_task(_keep_tail(proc.stderr, err_tail)),
    ]
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*helpers)
            code = await proc.wait()
    except TimeoutError:
        await _stop_group(proc, helpers)
        return f"{label} timed out after {timeout:g} s"
    except BaseException:
        # Cancelled (the run was stopped, the app is closing): never leave the group running.
        await _stop_group(proc, helpers)
        raise
    signal_group(proc.pid, signal.SIGKILL)  # whatever it left in the background
    if code == 0:
        return None
    secrets = {k: full_env[k] for k in SECRET_ENV_VARS if full_env.get(k)} | dict(env)
    detail = _last_line(err_tail, secrets) or _last_line(out_tail, secrets)
    if code < 0:
        what = f"{label} was killed by signal {_signal_name(-code)}"
    else:
        what = f"{label} exited {code}"
    return f"{what}: {_cut(detail)}" if detail else what


def _last_line(tail: bytearray, secrets: Mapping[str, str]) -> str:
    """The last non-blank line of a stream's tail, secrets masked (before it is cut)."""
    text = tail.decode("utf-8", errors="replace")
    for value in sorted(secrets.values(), key=len, reverse=True):
        if len(value) >= _MIN_SECRET_LEN:
            text = text.replace(value, "***")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


async def _feed(proc: asyncio.subprocess.Process, data: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # a check that ignores its input (`test -f report.pdf`) is fine
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.close()
            await proc.stdin.wait_closed()


async def _keep_tail(stream: asyncio.StreamReader | None, tail: bytearray) -> None:
    assert stream is not None
    while chunk := await stream.read(_READ_SIZE):
        tail.extend(chunk)
        del tail[:-_TAIL_BYTES]


async def _stop_group(proc: asyncio.subprocess.Process, helpers: list[asyncio.Task[None]]) -> None:
    """Stop the check's process group (see :func:`stop_group`), then end the pipe readers."""
    await stop_group(proc)
    # With the group dead the pipes reach EOF, so the readers end and their transports close
    # now rather than at garbage collection (possibly after the loop is closed).
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait(helpers, timeout=KILL_GRACE)
    for helper in helpers:
        helper.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.gather(*helpers, return_exceptions=True)
