"""One run of one task, end to end: result files, retries, timeout, metadata, last_run.json.

Used by the engine for scheduled and manual runs and by ``bassi-tui run TASK``. Everything a run
learns is reported as events through ``emit`` and written to the task folder; nothing is lost
even when the run is cancelled (the engine stopping): it is recorded as interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest
from bassi_tui.executor.retry import run_with_retries
from bassi_tui.executor.runners import get_runner
from bassi_tui.executor.template import expand_prompt, template_variables
from bassi_tui.scheduler.events import EngineEvent, RunFinished, RunOutput, RunRetrying, RunStarted
from bassi_tui.store.models import RunStatus, Task, Trigger
from bassi_tui.store.recovery import HOST
from bassi_tui.store.results import ResultWriter
from bassi_tui.store.state import apply_run, local_now, parse_time, read_state, update_state

log = logging.getLogger(__name__)

Emit = Callable[[EngineEvent], None]


@dataclass(slots=True)
class RunContext:
    """What the engine knows about a run besides the task: why it fires and what comes next."""

    trigger: Trigger = "manual"
    scheduled_for: datetime | None = None
    next_run: datetime | None = None
    once: bool = False
    request_id: str | None = None  # set when a monitor or `bassi-tui run` asked for this run


def _open_run(
    task: Task, ctx: RunContext, started: datetime, meta: dict[str, Any]
) -> tuple[ResultWriter, dict[str, Any]]:
    """The run's files and the task's state, in a worker thread (blocking I/O)."""
    writer = ResultWriter.create(task.results_dir, started, task.config.output.format)
    meta["result_file"] = writer.output_file.name
    # Not fsynced: rewritten when the run ends, and a kill -9 keeps it anyway.
    writer.write_meta(meta, durable=False)
    if ctx.once and ctx.trigger != "manual":
        # Marked before it runs (and durably): a crash mid-run must not fire it again.
        state = update_state(task.path, lambda s: {**s, "once_fired": True})
    else:
        state = read_state(task.path).state
    return writer, state


def _close_run(
    task: Task,
    ctx: RunContext,
    writer: ResultWriter,
    meta: dict[str, Any],
    started: datetime,
) -> None:
    """Write the final metadata and update last_run.json, in a worker thread."""
    writer.close()
    writer.write_meta(meta)

    def record(state: dict[str, Any]) -> dict[str, Any]:
        new = apply_run(
            state,
            timestamp=started,
            status=meta["status"],
            duration=meta["duration"],
            result_file=writer.output_file.name,
            error=meta["error"],
            next_run=ctx.next_run,
        )
        if ctx.trigger == "scheduled" and ctx.scheduled_for is not None:
            new["last_scheduled_fire"] = ctx.scheduled_for.isoformat()
        return new

    update_state(task.path, record)


async def _complete(blocking: Any, *args: Any) -> tuple[Any, bool]:
    """Run ``blocking(*args)`` in a thread and let it finish even if we are cancelled.

    The records of a run must be written whole: returns its result and whether a cancellation
    (the engine stopping) came meanwhile, for the caller to pass on once the records are right.
    """
    job = asyncio.ensure_future(asyncio.to_thread(blocking, *args))
    try:
        return await asyncio.shield(job), False
    except asyncio.CancelledError:
        return await job, True


async def execute_run(task: Task, ctx: RunContext, emit: Emit) -> RunFinished:
    """Run ``task`` once (with retries), record it, and return how it finished.

    File work happens in worker threads so a thousand runs due in the same second all start on
    time. Raises CancelledError after recording the run as interrupted when cancelled.
    """
    if task.prompt is None:
        raise ValueError(f"task {task.name} has no prompt")
    config = task.config
    started = local_now()
    run_id = secrets.token_hex(6)
    meta: dict[str, Any] = {
        "task_name": task.name,
        "run_id": run_id,
        "status": "running",
        "trigger": ctx.trigger,
        "scheduled_for": ctx.scheduled_for.isoformat() if ctx.scheduled_for else None,
        "start": started.isoformat(),
        "end": None,
        "duration": None,
        "attempts": 0,
        "executor": config.executor,
        "model": config.model if config.executor == "anthropic" else None,
        "input_tokens": None,
        "output_tokens": None,
        "request_id": None,
        "error": None,
        "result_file": None,
        "run_request": ctx.request_id,
        # pid and host let a later start tell a crashed run from a live one.
        "pid": os.getpid(),
        "host": HOST,
    }
    # Should the engine stop while the run's files open, the run is recorded as interrupted
    # below instead of leaving a "running" record behind.
    (writer, state), stopping = await _complete(_open_run, task, ctx, started, meta)
    emit(RunStarted(task.name, run_id, ctx.trigger, started, writer.output_file))

    last_ok = state.get("last_status")
    variables = template_variables(
        task.name,
        started,
        parse_time(state.get("last_run")),
        None if last_ok is None else last_ok == "success",
    )
    request = RunRequest(task.name, expand_prompt(task.prompt, variables), config)
    runner = get_runner(config.executor)
    attempts = 0

    async def on_text(text: str) -> None:
        writer.write(text)
        emit(RunOutput(task.name, run_id, text))

    async def attempt(n: int) -> AttemptResult:
        nonlocal attempts
        attempts = n
        if n > 1:
            writer.truncate()  # the result holds the text of the attempt that counts
        return await runner.run(request, on_text)

    def on_retry(n: int, err: ExecutorError, delay: float) -> None:
        emit(RunRetrying(task.name, run_id, n, delay, err.message))

    status: RunStatus = "failed"
    error: str | None = None
    result: AttemptResult | None = None
    cancelled = False
    try:
        if stopping:
            raise asyncio.CancelledError
        async with asyncio.timeout(config.timeout):
            result = await run_with_retries(
                attempt,
                max_retries=config.max_retries,
                base_delay=config.retry_delay,
                enabled=config.retry_on_failure,
                on_retry=on_retry,
            )
        status = "success"
    except TimeoutError:
        status, error = "timeout", f"timed out after {config.timeout:g} s"
    except ExecutorError as exc:
        status, error = "failed", exc.message
        meta["request_id"] = exc.request_id
    except asyncio.CancelledError:
        status, error, cancelled = "interrupted", "interrupted: bassi-tui stopped mid-run", True
    except Exception as exc:  # a bug or an OS error must become a record, not a crash
        log.exception("internal error running %s", task.name)
        status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"

    ended = local_now()
    duration = (ended - started).total_seconds()
    meta.update(
        status=status,
        end=ended.isoformat(),
        duration=round(duration, 3),
        attempts=attempts,
        error=error,
        partial=status != "success" and writer.bytes_written > 0,
    )
    if result is not None:
        meta.update(
            model=result.model or meta["model"],
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            request_id=result.request_id,
            stop_reason=result.stop_reason,
            exit_code=result.exit_code,
        )
    meta.pop("pid", None)
    meta.pop("host", None)
    _, stopped = await _complete(_close_run, task, ctx, writer, meta, started)
    cancelled = cancelled or stopped

    finished = RunFinished(
        task.name, run_id, status, duration, writer.output_file, writer.meta_file, error
    )
    emit(finished)
    if cancelled:
        raise asyncio.CancelledError
    return finished
