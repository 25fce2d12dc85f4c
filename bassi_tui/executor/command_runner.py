"""The ``command`` executor: run a program with the prompt on stdin, stream its stdout.

``config.command`` is an argv list (``["claude", "-p"]``); no shell is involved, so nothing in
the prompt or the config is ever interpreted by one.

The program runs in its own session (so its own process group). When the attempt is cancelled
(the engine's timeout, app shutdown) the whole group gets SIGTERM, then SIGKILL after
:data:`KILL_GRACE` seconds, so no grandchild outlives the run. Exit code 0 is success; anything
else is a permanent error (a failing script rarely fixes itself by being re-run at once).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
from collections.abc import Mapping

from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest, TextSink

__all__ = ["KILL_GRACE", "STDERR_TAIL_BYTES", "CommandRunner"]

KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL when a run is stopped."""

STDERR_TAIL_BYTES = 4096
"""How much of the end of stderr is kept for the error message."""

_READ_SIZE = 65536
_MIN_SECRET_LEN = 4  # shorter values are not secrets, and masking them would garble messages


def _scrub(text: str, secrets: Mapping[str, str]) -> str:
    """Mask environment values that a failing script may have echoed to stderr."""
    for value in sorted(secrets.values(), key=len, reverse=True):
        if len(value) >= _MIN_SECRET_LEN:
            text = text.replace(value, "***")
    return text


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


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
            await self._stop_group(proc)
            raise

        if code != 0:
            tail = _scrub(stderr_tail.decode("utf-8", errors="replace").strip(), extra_env)
            if code < 0:
                what = f"command was killed by signal {signal.Signals(-code).name}"
            else:
                what = f"command exited with code {code}"
            raise ExecutorError(f"{what}: {tail}" if tail else what, transient=False)
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
    async def _stop_group(proc: asyncio.subprocess.Process) -> None:
        """SIGTERM the process group, SIGKILL it after KILL_GRACE, reap the leader.

        The SIGKILL is sent even if this coroutine is itself cancelled while waiting, since a
        second cancel (app shutdown during a timeout) must not leave the group alive.
        """
        pgid = proc.pid  # start_new_session made the child the leader of its own group
        _signal_group(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), KILL_GRACE)
        except (TimeoutError, asyncio.CancelledError):
            pass
        finally:
            # Always: the leader may have exited on SIGTERM while a grandchild ignores it.
            _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(proc.wait(), KILL_GRACE)
