"""The runner interface every executor implements, and the errors it raises.

A runner does one attempt: it sends the prompt, streams text through ``on_text`` as it arrives
and returns what it learnt (tokens, model, request id). Retries, timeouts and files are not its
business; :mod:`bassi_tui.executor.retry` and the engine's run orchestration do those.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bassi_tui.store.models import TaskConfig
from bassi_tui.store.records import WrittenFile

TextSink = Callable[[str], Awaitable[None]]
"""Receives each chunk of output text as it streams, in order."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What one run needs: the already-expanded prompt and the task's config."""

    task_name: str
    prompt: str
    config: TaskConfig
    #: Extra environment for the run (config.environment is applied on top by the runner).
    env: Mapping[str, str] = field(default_factory=dict)
    #: The task's folder (the agent's workdir and allowed paths are relative to it).
    task_dir: Path | None = None
    #: Where the agent writes its transcript (``<stem>.transcript.jsonl`` beside the result).
    transcript: Path | None = None
    #: The run's id, the same for every attempt and across a restart (from the task and its
    #: slot): a remote runner makes its job id from it and ``attempt``, so that one attempt is
    #: handed to a worker at most once. None: local runners, which need none.
    run_id: str | None = None
    #: Which attempt of the run this is (1 for the first; a retry counts up).
    attempt: int = 1


@dataclass(slots=True)
class AttemptResult:
    """What a successful attempt reports besides the streamed text."""

    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    request_id: str | None = None
    stop_reason: str | None = None
    exit_code: int | None = None
    #: Agent runs: model turns, cache tokens summed over them, files written in the workdir.
    turns: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    files: tuple[WrittenFile, ...] = ()
    #: A remote attempt: the RQ worker that did it, ``name@host`` (None for a local one).
    worker: str | None = None


class ExecutorError(Exception):
    """An attempt failed.

    ``transient`` errors (rate limits, overload, 5xx, dropped connections) may be retried;
    permanent ones (bad request, bad key, missing model) never are, and ``message`` says what the
    user should do. ``retry_after`` is the server's hint in seconds, when it gave one.
    ``attempts`` is how many attempts were made in all: ``run_with_retries`` (executor.retry)
    sets it on the error it finally raises; an error from a lone attempt leaves it at 1.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after
        self.status_code = status_code
        self.request_id = request_id
        self.attempts = 1
        #: What the attempt did before it failed, when that is worth recording (an agent that
        #: ran out of turns: its tokens and the files it wrote).
        self.result: AttemptResult | None = None


class RunLost(ExecutorError):
    """A remote attempt whose worker stopped answering mid-run (killed, its host gone, its
    network cut), or whose work-horse died: nothing knows how far it got.

    Record the run ``lost`` (not ``failed``), and never try it again by itself: the work may
    have been done, or half done, on the worker. It is permanent (``transient`` False), so
    ``run_with_retries`` passes it straight on. ``worker`` names the worker (``name@host``)
    when it is known.
    """

    def __init__(self, message: str, *, worker: str | None = None) -> None:
        super().__init__(message, transient=False)
        self.worker = worker


class Runner(Protocol):
    """One executor: anthropic, command or echo."""

    name: str

    async def run(self, request: RunRequest, on_text: TextSink) -> AttemptResult:
        """Do one attempt, streaming text to ``on_text``; raise ExecutorError on failure."""
        ...
