"""The engine's side of ``runs_on``: which runner a task's runs go to, and which labels have a
live worker, for the cards.

bassi.yaml ``workers: {url: ...}`` names the Redis of the RQ workers; a task with ``runs_on:
LABEL`` hands each attempt to a worker of that label (:class:`bassi_tui.workers.remote.
RemoteRunner`). Nothing of :mod:`bassi_tui.workers` (nor rq, nor redis) is imported until
bassi.yaml names workers: one machine needs no Redis.

A task with ``runs_on`` while bassi.yaml names no workers fails its runs at once with a reason
that says what to add (never runs them here: the task asked for another host).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bassi_tui.executor.base import AttemptResult, ExecutorError, Runner, RunRequest, TextSink

if TYPE_CHECKING:
    from bassi_tui.workers.link import WorkerLink

__all__ = ["RemoteRuns", "worker_note"]

log = logging.getLogger(__name__)


def worker_note(label: str) -> str:
    """A card's note for a task whose label no live worker serves."""
    return f"no live worker for runs_on: {label} (start one: bassi-tui worker --labels {label})"


def missing_extra() -> str | None:
    """What to install when rq or redis cannot be imported here; None when both can."""
    missing = [name for name in ("rq", "redis") if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"bassi.yaml names workers but {' and '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not installed here: "
        "pip install -e '.[workers]' (or pip install 'rq>=2.8,<3' 'redis>=5.0.1,<8')"
    )


class _NoWorkers:
    """The runner of a ``runs_on`` task that cannot be handed over: it says why."""

    name = "remote"

    def __init__(self, label: str, reason: str | None = None) -> None:
        self.label = label
        self.reason = reason or (
            f"runs_on: {label} needs the workers' Redis in bassi.yaml, "
            "e.g. workers: {url: redis://HOST:6379/0}"
        )

    async def run(self, request: RunRequest, on_text: TextSink) -> AttemptResult:
        raise ExecutorError(self.reason, transient=False)


class RemoteRuns:
    """One link to the workers' Redis (bassi.yaml ``workers.url``), a runner per label."""

    def __init__(self) -> None:
        self.url: str | None = None
        self._link: WorkerLink | None = None
        self._runners: dict[str, Runner] = {}
        #: What to install before runs can be handed over (rq or redis missing here), or None.
        self.missing: str | None = None
        #: Labels last found with no live worker (the cards say so).
        self.dead: set[str] = set()
        self._closing: set[asyncio.Task[Any]] = set()

    def configure(self, url: str | None) -> bool:
        """Take bassi.yaml's ``workers.url``; True when it changed. Runs in flight keep the
        runner they have; the old link closes once they let go of it (at :meth:`aclose`)."""
        if url == self.url:
            return False
        self.missing = missing_extra() if url is not None else None
        old = list(self._runners.values())
        link = self._link
        self.url, self._link, self._runners, self.dead = url, None, {}, set()
        if link is not None:
            closing = asyncio.ensure_future(_close(link, old))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        return True

    def _the_link(self) -> WorkerLink:
        if self._link is None:
            assert self.url is not None
            from bassi_tui.workers.link import WorkerLink

            self._link = WorkerLink(self.url)
        return self._link

    def runner(self, label: str) -> Runner:
        """The runner of a task that says ``runs_on: label``."""
        runner = self._runners.get(label)
        if runner is None:
            if self.url is None or self.missing:
                return _NoWorkers(label, self.missing)
            from bassi_tui.workers.remote import RemoteRunner

            runner = self._runners[label] = RemoteRunner(self._the_link(), label)
        return runner

    async def look(self, labels: Iterable[str]) -> set[str]:
        """Ask Redis which of ``labels`` have a live worker; the labels whose answer changed."""
        if self.url is None:
            changed, self.dead = self.dead, set()
            return changed
        if self.missing:  # nothing can reach a worker from here: every label is without one
            dead = set(labels)
            changed, self.dead = dead ^ self.dead, dead
            return changed
        link = self._the_link()
        dead = set()
        for label in sorted(set(labels)):
            if not await link.has_live_worker(label, fresh=True):
                dead.add(label)
        changed = dead ^ self.dead
        self.dead = dead
        return changed

    async def aclose(self) -> None:
        """Close the link and the runners (at the engine's stop)."""
        link, runners = self._link, list(self._runners.values())
        self._link, self._runners = None, {}
        if link is not None:
            await _close(link, runners)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _close(link: WorkerLink, runners: list[Runner]) -> None:
    for runner in runners:
        aclose = getattr(runner, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:  # closing must not stop the others from closing
                log.exception("closing a remote runner")
    try:
        await link.aclose()
    except Exception:
        log.exception("closing the workers' link")
