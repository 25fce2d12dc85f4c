"""The ``command`` executor: run a program with the prompt on stdin, stream its stdout.

``config.command`` is an argv list (``["claude", "-p"]``); no shell is involved, so nothing in
the prompt or the config is ever interpreted by one.

The program runs in its own session (so its own process group). When the attempt is cancelled
(the engine's timeout, app shutdown) the whole group gets SIGTERM, then SIGKILL after
:data:`KILL_GRACE` seconds, so no grandchild outlives the run.

Exit code 0 is success. Any other exit (or death by a signal) is a failure like an API error:
*transient*, so config.yaml's ``retry_on_failure``/``max_retries``/``retry_delay`` decide whether
it is tried again (a script that fails on a flaky network or a busy service often succeeds a
minute later, and a user who set ``max_retries`` asked for exactly that). What no retry can fix
is permanent: no ``command:``, a program that is not found or not executable.

A failing program's stderr tail goes into the error (run metadata, last_run.json, the log), with
every secret of the run's environment masked as ``***``: ``environment:`` values and the API
key (:data:`SECRET_ENV_VARS`) the program inherits.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
from collections.abc import Mapping

from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest, TextSink
from bassi_tui.executor.process_group import KILL_GRACE, stop_group

__all__ = ["KILL_GRACE", "SECRET_ENV_VARS", "STDERR_TAIL_BYTES", "CommandRunner"]

"""Seconds between SIGTERM and SIGKILL when a run is stopped."""

STDERR_TAIL_BYTES = 4096
"""How much of the end of stderr is kept for the error message."""

SECRET_ENV_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
"""Inherited variables whose values are masked in error messages, as ``environment`` values are.

The program needs them (``claude -p`` reads the key), so they are passed on; but a script that
prints its environment on failure must not put the key into last_run.json and the log."""

_READ_SIZE = 65536
_MIN_SECRET_LEN = 4  # shorter values are not secrets, and masking them would garble messages


def _scrub(text: str, secrets: Mapping[str, str]) -> str:
    """Mask environment values that a failing script may have echoed to stderr."""
    for value in sorted(secrets.values(), key=len, reverse=True):
        if len(value) >= _MIN_SECRET_LEN:
            text = text.replace(value, "***")
    return text


def _mask_cut_secret(tail: str, secrets: Mapping[str, str]) -> str:
    """Mask the end of a secret that the tail's cut left at its start.

    _scrub only finds whole values; a key printed just before the last STDERR_TAIL_BYTES would
    otherwise leave its final characters in the message.
    """
    text = tail.lstrip("\ufffd")  # the cut may also split a character
    if not text:
        return tail
    for value in sorted(secrets.values(), key=len, reverse=True):
        # Longest proper suffix of ``value`` that ``text`` starts with: try each place where
        # ``text``'s first character occurs in ``value``, leftmost (longest) first.
        start = value.find(text[0], 1)
        while start != -1 and len(value) - start >= _MIN_SECRET_LEN:
            if text.startswith(value[start:]):
                return "***" + text[len(value) - start :]
            start = value.find(text[0], start + 1)
    return tail


def _signal_name(number: int) -> str:
    """SIGKILL for 9; the bare number for signals Python has no name for (real-time ones)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class CommandRunner:
    """Runs ``config.command`` with the prompt on stdin; see the module docstring."""

    name: str = "command"

    async def run(self, request: RunRequest, on_text: TextSink) -> AttemptResult:
        """One attempt: start, stream stdout to ``on_text``, wait, judge the exit code."""
        argv = list(request.config.command)
        if not argv:
            raise ExecutorError(
                "executor 'command' needs a `command:` list in config.yaml, "
                'e.g. command: ["claude", "-p"]',
                transient=False,
            )
        extra_env = {**request.env, **request.config.environment}
        env = {**os.environ, **extra_env}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ExecutorError(
                f"command not found: {argv[0]} — install it or fix `command:` in config.yaml",
                transient=False,
            ) from None
        except PermissionError:
            raise ExecutorError(
                f"command not executable: {argv[0]} — check its permissions (chmod +x)",
                transient=False,
            ) from None

        stderr_tail = bytearray()
        # stdin and stderr are served by helper tasks; stdout is pumped here so on_text runs in
        # the caller's task, and an exception from it surfaces as itself.
        helpers = [
            asyncio.create_task(self._feed_stdin(proc, request.prompt)),
            asyncio.create_task(self._keep_stderr_tail(proc, stderr_tail)),
        ]
        try:
            await self._pump_stdout(proc, on_text)
            await asyncio.gather(*helpers)
            code = await proc.wait()
        except BaseException:
            # Cancellation (timeout) or a failing on_text: never leave the group running.
            for helper in helpers:
                helper.cancel()
            await stop_group(proc)
            await self._drain(proc, helpers)
            raise

        if code != 0:
            secrets = {**{k: env[k] for k in SECRET_ENV_VARS if env.get(k)}, **extra_env}
            tail = stderr_tail.decode("utf-8", errors="replace")
            if len(stderr_tail) >= STDERR_TAIL_BYTES:  # cut: it may begin inside a secret
                tail = _mask_cut_secret(tail, secrets)
            tail = _scrub(tail, secrets).strip()
            if code < 0:
                what = f"command was killed by signal {_signal_name(-code)}"
            else:
                what = f"command exited with code {code}"
            # Transient: a failure like any other, retried as config.yaml says (module docstring).
            raise ExecutorError(f"{what}: {tail}" if tail else what, transient=True)
        return AttemptResult(exit_code=0)

    @staticmethod
    async def _feed_stdin(proc: asyncio.subprocess.Process, prompt: str) -> None:
        # Written concurrently with reading stdout: a big prompt would otherwise deadlock with a
        # program that writes before it has read all of its input.
        assert proc.stdin is not None
        try:
            proc.stdin.write(prompt.encode("utf-8"))
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the program does not read stdin; that is its business
        finally:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.close()
                await proc.stdin.wait_closed()

    @staticmethod
    async def _pump_stdout(proc: asyncio.subprocess.Process, on_text: TextSink) -> None:
        assert proc.stdout is not None
        # Incremental: a multi-byte character split across two reads must not become U+FFFD.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := await proc.stdout.read(_READ_SIZE):
            if text := decoder.decode(chunk):
                await on_text(text)
        if text := decoder.decode(b"", final=True):
            await on_text(text)

    @staticmethod
    async def _keep_stderr_tail(proc: asyncio.subprocess.Process, tail: bytearray) -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(_READ_SIZE):
            tail.extend(chunk)
            del tail[:-STDERR_TAIL_BYTES]

    @staticmethod
    async def _drain(proc: asyncio.subprocess.Process, helpers: list[asyncio.Task[None]]) -> None:
        """Read the dead group's pipes to their end, so their transports close now.

        Left unread (output that filled the disk, a failing ``on_text``), a pipe stays open
        until garbage collection, which may come after its event loop is closed.
        """
        with contextlib.suppress(BaseException):
            await asyncio.gather(*helpers, return_exceptions=True)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(stream.read(), KILL_GRACE)
