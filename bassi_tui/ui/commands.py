"""The command palette's task actions: "Run <task> now", "Pause <task>", "Show <task>"...

Only what can be done is offered: Pause for a task whose schedule runs, Resume for a paused one,
neither (nor Run) for a broken task, which can only be edited or shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from bassi_tui.scheduler.events import TaskView
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.task_list import TaskList


class TaskActions(Protocol):
    """What the palette needs from the app."""

    def task_names(self) -> list[str]: ...

    def task_enabled(self, name: str) -> bool: ...

    def run_task(self, name: str) -> None: ...

    def toggle_task(self, name: str) -> None: ...

    def edit_task(self, name: str) -> None: ...

    def select_task(self, name: str) -> None: ...


Command = tuple[str, Callable[[], None], str]  # (title, callback, help)


def task_commands(
    app: TaskActions, views: Callable[[str], TaskView | None] | None = None
) -> Iterator[Command]:
    """(title, callback, help) for every action that can be done on every task, in name order.

    ``views`` gives a task's card (None: every task is taken as runnable, paused or not as
    ``app.task_enabled`` says).
    """
    for name in app.task_names():
        label = one_line(name)
        view = views(name) if views is not None else None
        broken = view is not None and not view.ok
        if not broken:
            yield f"Run {label} now", partial(app.run_task, name), "Start a run now"
            if app.task_enabled(name):
                yield (
                    f"Pause {label}",
                    partial(app.toggle_task, name),
                    "Stop its scheduled runs until resumed (enabled: false)",
                )
            else:
                yield (
                    f"Resume {label}",
                    partial(app.toggle_task, name),
                    "Start its scheduled runs again (enabled: true)",
                )
        yield (
            f"Edit the prompt of {label}",
            partial(app.edit_task, name),
            "Open prompt.txt in your editor",
        )
        yield f"Show {label}", partial(app.select_task, name), "Go to its card and its results"


class TaskCommands(Provider):
    """Task actions for the command palette (Ctrl+P)."""

    @property
    def _actions(self) -> TaskActions:
        return cast(TaskActions, self.app)

    def _commands(self) -> Iterator[Command]:
        cards = self.app.query(TaskList)
        return task_commands(self._actions, cards.first().view if cards else None)

    async def discover(self) -> Hits:
        """Every action, before anything is typed."""
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Actions matching ``query``, best first."""
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
