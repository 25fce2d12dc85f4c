"""One run of one task, end to end: result files, retries, timeout, the records.

The one path of a run: :func:`execute_run` opens the run's files (a ``running`` record), calls
``on_started`` with that record, runs the attempts, and returns the finished record with the
task's new state. It is used by the engine's run manager for every run (scheduled, manual,
catch-up, requested) and by ``bassi-tui run TASK``.

Whatever goes wrong, a run ends recorded: a result file that cannot be created (a full disk, a
read-only or vanished folder), output that cannot be written, a record that cannot be written,
a cancellation (the engine stopping, a signal). When the disk refuses a record, the run is still
returned with the reason in ``Outcome.problem`` and the state the task would have, so the card
and the log say what happened; a ``running`` record that could not be finished is removed, never
left behind saying "running".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bassi_tui.executor.base import (
    AttemptResult,
    ExecutorError,
    RunLost,
    Runner,
    RunRequest,
)
from bassi_tui.executor.retry import run_with_retries
from bassi_tui.executor.runners import get_runner
from bassi_tui.executor.template import after_variables, expand_prompt, template_variables
from bassi_tui.scheduler.events import EngineEvent, RunOutput, RunRetrying
from bassi_tui.scheduler.judging import Verdict, judge
from bassi_tui.scheduler.triggers import resolve_zone
from bassi_tui.store.atomic import atomic_write_text
from bassi_tui.store.models import Task, TaskConfig, Trigger, config_digest
from bassi_tui.store.prices import PRICES, PriceTable, run_cost
from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.recovery import HOST
from bassi_tui.store.results import ResultWriter, write_run
from bassi_tui.store.state import read_state, update_state

log = logging.getLogger(__name__)

Emit = Callable[[EngineEvent], None]
Clock = Callable[[], datetime]
T = TypeVar("T")

#: Shorter values are not secrets, and masking them would garble messages.
MIN_SECRET_LEN = 4
#: Environment variables whose values never appear in a record, whatever printed them.
SECRET_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
STOPPED = "bassi-tui stopped mid-run; the output so far is kept"
#: The threads that open and finish runs' files: their own, so a burst of runs starting never
#: queues in front of the SDK's DNS lookups (anyio's ``getaddrinfo`` runs in the loop's default
#: executor, which a hundred file hops would hold for hundreds of milliseconds).
_RUN_FILES = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="bassi-run-files")


@dataclass(slots=True)
class RunContext:
    """What the engine knows about a run besides the task: why it fires and what comes next."""

    trigger: Trigger = "manual"
    scheduled_for: datetime | None = None
    next_run: datetime | None = None
    once: bool = False
    request_id: str | None = None  # set when a monitor or `bassi-tui run` asked for this run
    #: The schedule the slot was computed from (kept with ``last_scheduled_fire``).
    schedule_key: str | None = None
    #: Leave last_run.json's ``next_run`` as it is (``bassi-tui run`` with no scheduler: the
    #: promise a stopped scheduler made is what the next start counts missed fires from).
    keep_next_run: bool = False
    #: Seconds the run waited for a place under ``max_concurrent`` before it began.
    waited: float | None = None
    #: The upstream run that started this one (``type: after``): its result reaches the prompt.
    upstream: RunRecord | None = None
    #: A prompt to send as it is (``R``: a run's saved prompt again), instead of the task's.
    prompt: str | None = None
    #: The run's id, once it has begun (the run manager cancels a run by it).
    run_id: str | None = None
    #: Set by the run manager before it cancels the run for a person (``x``): the run is then
    #: recorded ``cancelled`` with this as its error, not ``interrupted``, and not passed on.
    cancelled_by: str | None = None
    #: Model -> price, to put a cost on the run (bassi.yaml ``prices:`` over the shipped table).
    prices: PriceTable = field(default_factory=lambda: PRICES)
    #: Where the attempts go when not to the executor's own runner (``runs_on``: a worker's).
    runner: Runner | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended: its record, the task's state after it, and what could not be written."""

    record: RunRecord
    state: TaskState
    #: Why the records on disk are incomplete (a full disk, a vanished folder), else None.
    problem: str | None = None
    #: The run was cut short by a cancellation (the engine stopping): pass it on once recorded.
    cancelled: bool = False
    #: The first lines of the diff against the previous success, for an on_change message.
    diff_head: str | None = None


class OutputError(Exception):
    """The result file cannot be written (a full disk, a vanished folder): the run fails."""


def mask_secrets(text: str | None, config: TaskConfig | None) -> str | None:
    """``text`` with the task's secrets masked as ``***``: its ``environment`` values, its MCP
    servers' ``env`` and ``headers`` values, and the API key."""
    if not text:
        return text
    values = [os.environ.get(name, "") for name in SECRET_ENV]
    if config is not None:
        values += config.environment.values()
        for server in config.mcp_servers:
            values += [*server.env.values(), *server.headers.values()]
    for value in sorted({v.strip() for v in values}, key=len, reverse=True):
        if len(value) >= MIN_SECRET_LEN:
            text = text.replace(value, "***")
    return text


async def _complete(blocking: Callable[..., T], *args: Any) -> tuple[T, bool]:
    """Run ``blocking(*args)`` in a thread and let it finish even if we are cancelled.

    The records of a run must be written whole: returns its result and whether a cancellation
    (the engine stopping) came meanwhile, for the caller to pass on once the records are right.
    """
    loop = asyncio.get_running_loop()
    job = loop.run_in_executor(_RUN_FILES, functools.partial(blocking, *args))
    try:
        return await asyncio.shield(job), False
    except asyncio.CancelledError:
        return await job, True


def _open_files(task: Task, ctx: RunContext, record: RunRecord) -> tuple[ResultWriter, RunRecord]:
    """Create the run's output file and its ``running`` record (blocking I/O, in a thread)."""
    assert record.start is not None
    writer = ResultWriter.create(task.results_dir, record.start, task.config.output.format)
    opened = record.replace(meta_file=writer.meta_file, output_file=writer.output_file)
    try:
        # Not fsynced: rewritten when the run ends, and a kill -9 keeps it anyway.
        writer.write_record(opened, durable=False)
    except BaseException:
        writer.discard()
        raise
    return writer, opened


def _read_before(task: Task, ctx: RunContext) -> TaskState:
    """The state the run starts from; a ``once`` fire is marked spent first (durably)."""
    if ctx.once and ctx.trigger != "manual":
        # Marked before it runs: a crash mid-run must not fire it again.
        return update_state(task.path, lambda s: s.replace(once_fired=True))
    return read_state(task.path).state


@dataclass(frozen=True, slots=True)
class _Begun:
    before: TaskState
    writer: ResultWriter | None
    record: RunRecord
    failure: OSError | None = None  # the files could not be made
    prompt: str = ""  # the prompt as sent (templates expanded)


def dry_prompt(task: Task, ctx: RunContext, before: TaskState, started: datetime) -> str:
    """The prompt a run sends: the saved one of a rerun, else the task's, expanded (blocking:
    a run started by an upstream reads its output). ``run --dry-run`` prints it."""
    if ctx.prompt is not None:
        return ctx.prompt
    assert task.prompt is not None
    zone = resolve_zone(task.schedule) if task.schedule is not None else None
    variables = template_variables(
        task.name, started, before.last_run, before.last_success, zone=zone
    )
    if ctx.upstream is not None:
        variables |= after_variables(ctx.upstream)
    return expand_prompt(task.prompt, variables)


def _begin(task: Task, ctx: RunContext, record: RunRecord) -> _Begun:
    """The state before the run, the prompt it sends and its files (blocking I/O, in a thread):
    one thread hop, as runs start in bursts. When the files cannot be made, the error comes with
    the state read."""
    before = _read_before(task, ctx)
    assert record.start is not None
    prompt = dry_prompt(task, ctx, before, record.start)
    record = record.replace(
        prompt_sha256=hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
        config_sha256=config_digest(task.config),
    )
    try:
        writer, opened = _open_files(task, ctx, record)
    except OSError as exc:
        return _Begun(before, None, record, exc, prompt)
    try:
        # The exact prompt beside the result: what produced it, and what R sends again.
        atomic_write_text(opened.prompt_file, prompt, durable=False)
    except OSError as exc:
        writer.discard()  # no file of the run is left behind, least of all one saying "running"
        with contextlib.suppress(OSError):
            opened.meta_file.unlink()
        return _Begun(before, None, record, exc, prompt)
    return _Begun(before, writer, opened, prompt=prompt)


def runner_for(task: Task, ctx: RunContext) -> Runner:
    """The runner of the run: a worker's (``runs_on``), else its executor's shared runner."""
    return ctx.runner if ctx.runner is not None else get_runner(task.config.executor)


def remote_run_id(task: Task, ctx: RunContext, run_id: str) -> str:
    """The id a worker's job is made from: the task and its slot for a scheduled or catch-up
    fire (the same after a restart, so a slot is handed over at most once), else the run's."""
    if ctx.scheduled_for is not None and ctx.trigger in ("scheduled", "catchup"):
        return f"{task.name}@{ctx.scheduled_for.isoformat()}"
    return run_id


def _record_state(task: Task, ctx: RunContext, record: RunRecord) -> TaskState:
    """Add the finished run to last_run.json (blocking I/O, in a thread)."""

    def change(state: TaskState) -> TaskState:
        new = state.with_record(record, state.next_run if ctx.keep_next_run else ctx.next_run)
        if ctx.trigger == "scheduled" and ctx.scheduled_for is not None:
            new = new.replace(last_scheduled_fire=ctx.scheduled_for, schedule_key=ctx.schedule_key)
        return new

    return update_state(task.path, change)


def _finish_files(writer: ResultWriter | None, record: RunRecord) -> str | None:
    """Close the output and write the final record; the reason when the disk refused it."""
    if writer is not None:
        writer.close()
    try:
        write_run(record)
        return None
    except OSError as exc:
        reason = f"cannot write the run's record {record.meta_file.name}: {exc.strerror or exc}"
    # Never leave a record that says "running" for a run that is over: unlinking needs no space.
    with contextlib.suppress(OSError):
        record.meta_file.unlink()
    return reason


def _finish(
    task: Task, ctx: RunContext, writer: ResultWriter | None, record: RunRecord, before: TaskState
) -> Outcome:
    """Every record of a finished run (blocking I/O, in a thread); nothing raised."""
    problems = []
    # No files (they could not be created): the run lives in last_run.json and the log only; a
    # record written at a made-up name could overwrite another run's.
    if writer is not None and (files := _finish_files(writer, record)) is not None:
        problems.append(files)
    try:
        state = _record_state(task, ctx, record)
    except Exception as exc:  # a full disk, a vanished folder, or a bug: the run stays told
        if not isinstance(exc, OSError):
            log.exception("internal error recording a run of %s", task.name)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        problems.append(f"cannot write last_run.json: {reason}")
        state = before.with_record(record, before.next_run if ctx.keep_next_run else ctx.next_run)
    return Outcome(record, state, "; ".join(problems) or None)


async def execute_run(
    task: Task,
    ctx: RunContext,
    emit: Emit,
    *,
    clock: Clock,
    on_started: Callable[[RunRecord], None],
) -> Outcome:
    """Run ``task`` once (with retries) and record it; see the module docstring.

    ``on_started`` gets the ``running`` record once the run's files exist (or the failed
    record, when they cannot be made). A cancellation is not raised: the run is recorded as
    interrupted and ``Outcome.cancelled`` tells the caller to pass the cancellation on; a
    person's (``ctx.cancelled_by`` set) is recorded ``cancelled`` and ends here.
    """
    if task.prompt is None:
        raise ValueError(f"task {task.name} has no prompt")
    config = task.config
    started = clock()
    record = RunRecord(
        meta_file=task.results_dir / f"{started:%Y-%m-%d_%H-%M-%S}.json",
        output_file=None,
        task_name=task.name,
        status="running",
        start=started,
        run_id=secrets.token_hex(6),
        trigger=ctx.trigger,
        scheduled_for=ctx.scheduled_for,
        executor=config.executor,
        model=config.model if config.executor in ("anthropic", "agent") else None,
        run_request=ctx.request_id,
        waited=ctx.waited,
        # pid and host let a later start tell a crashed run from a live one.
        pid=os.getpid(),
        host=HOST,
    )
    writer: ResultWriter | None = None
    cancelled = False
    before = TaskState(task.name)
    taken_back = False

    def by_person() -> bool:
        """The cancellation just caught is a person's (once): it ends here, not passed on."""
        nonlocal taken_back
        if ctx.cancelled_by is None or taken_back:
            return False
        taken_back = True
        if (current := asyncio.current_task()) is not None:
            current.uncancel()
        return True

    try:
        begun, stopping = await _complete(_begin, task, ctx, record)
        cancelled = cancelled or stopping
        before, prompt = begun.before, begun.prompt
        if begun.failure is not None:
            raise begun.failure
        writer, record = begun.writer, begun.record
    except OSError as exc:
        failed = record.replace(
            status="failed",
            end=clock(),
            duration=0.0,
            error=f"cannot create the run's files in {task.results_dir}: {exc.strerror or exc}",
            pid=None,
            host=None,
        )
        on_started(failed)
        outcome, stopping = await _complete(_finish, task, ctx, None, failed, before)
        return dataclasses.replace(outcome, cancelled=cancelled or stopping)
    on_started(record)
    run_id = record.run_id

    async def on_text(text: str) -> None:
        assert writer is not None
        try:
            writer.write(text)
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot write the result file: {exc}") from exc
        emit(RunOutput(task.name, run_id, text))

    request = RunRequest(
        task.name,
        prompt,
        config,
        task_dir=task.path,
        transcript=record.transcript_file,
        run_id=remote_run_id(task, ctx, run_id),
    )
    runner = runner_for(task, ctx)
    attempts = 0

    async def attempt(n: int) -> AttemptResult:
        nonlocal attempts
        attempts = n
        if n > 1:
            assert writer is not None
            writer.truncate()  # the result holds the text of the attempt that counts
        return await runner.run(dataclasses.replace(request, attempt=n), on_text)

    def on_retry(n: int, err: ExecutorError, delay: float) -> None:
        emit(RunRetrying(task.name, run_id, n, delay, mask_secrets(err.message, config) or ""))

    status, error = "failed", None
    result: AttemptResult | None = None
    request_id: str | None = None
    try:
        if cancelled:
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
    except RunLost as exc:  # a worker stopped answering: nobody knows how far it got
        status, error, result = "lost", exc.message, exc.result
        record = record.replace(worker=exc.worker)
    except ExecutorError as exc:
        status, error, request_id = "failed", exc.message, exc.request_id
        result = exc.result  # what a failed attempt did that is worth recording (agent turns)
    except OutputError as exc:
        status, error = "failed", str(exc)
    except asyncio.CancelledError:
        person = by_person()
        status, error = ("cancelled", ctx.cancelled_by) if person else ("interrupted", STOPPED)
        cancelled = not person
    except Exception as exc:  # a bug or an OS error must become a record, not a crash
        log.exception("internal error running %s", task.name)
        status, error = "failed", f"internal error: {type(exc).__name__}: {exc}"

    assert writer is not None
    verdict: Verdict | None = None
    if status == "success":
        try:
            verdict = await judge(task, writer.output_file, before, dict(config.environment))
        except asyncio.CancelledError:
            person = by_person()
            status, error = ("cancelled", ctx.cancelled_by) if person else ("interrupted", STOPPED)
            cancelled = not person
        except Exception as exc:  # a bug must not cost the run its record
            log.exception("internal error judging a run of %s", task.name)
            status, error = "failed", f"internal error checking the output: {exc}"
        if verdict is not None and verdict.check_error is not None:
            status, error = "check_failed", verdict.check_error

    ended = clock()
    finished = record.replace(
        status=status,
        end=ended,
        duration=round((ended - started).total_seconds(), 3),
        attempts=attempts,
        error=mask_secrets(error, config),
        request_id=request_id,
        partial=status not in ("success", "check_failed") and writer.bytes_written > 0,
        pid=None,
        host=None,
    )
    if result is not None:
        finished = finished.replace(
            model=result.model or finished.model,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            request_id=result.request_id or request_id,
            stop_reason=result.stop_reason,
            exit_code=result.exit_code,
            turns=result.turns,
            cache_read_input_tokens=result.cache_read_tokens,
            cache_creation_input_tokens=result.cache_write_tokens,
            files=result.files,
            workdir=config.workdir if result.turns is not None else None,
            worker=result.worker,
        )
    if verdict is not None and status == "success":
        finished = finished.replace(changed=verdict.changed, change=verdict.change)
    cost, cost_note = run_cost(
        finished.model if finished.executor in ("anthropic", "agent") else None,
        ctx.prices,
        input_tokens=finished.input_tokens,
        output_tokens=finished.output_tokens,
        cache_read_tokens=finished.cache_read_input_tokens,
        cache_write_tokens=finished.cache_creation_input_tokens,
    )
    finished = finished.replace(cost_usd=cost, cost_note=cost_note)
    outcome, stopped = await _complete(_finish, task, ctx, writer, finished, before)
    stopped = stopped and not by_person()
    diff_head = verdict.diff_head if verdict is not None else None
    return dataclasses.replace(outcome, cancelled=cancelled or stopped, diff_head=diff_head)
