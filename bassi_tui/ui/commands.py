"""The command palette's task actions: "Run <task> now", "Pause <task>", "Edit <task> prompt"..."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from bassi_tui.ui.sanitize import one_line


class TaskActions(Protocol):
    """What the palette needs from the app."""

    def task_names(self) -> list[str]: ...

    def task_enabled(self, name: str) -> bool: ...

    def run_task(self, name: str) -> None: ...

    def toggle_task(self, name: str) -> None: ...

    def edit_task(self, name: str) -> None: ...

    def select_task(self, name: str) -> None: ...


def task_commands(app: TaskActions) -> Iterator[tuple[str, Callable[[], None], str]]:
    """(title, callback, help) for every action on every task, in name order."""
    for name in app.task_names():
        label = one_line(name)
        pause = "Pause" if app.task_enabled(name) else "Resume"
        yield f"Run {label} now", partial(app.run_task, name), "Start a run now"
        yield f"{pause} {label}", partial(app.toggle_task, name), "Edit enabled: in schedule.yaml"
        yield f"Edit {label} prompt", partial(app.edit_task, name), "Open prompt.txt in $EDITOR"
        yield f"Show {label}", partial(app.select_task, name), "Select its card and results"


class TaskCommands(Provider):
    """Task actions for the command palette (Ctrl+P)."""

    @property
    def _actions(self) -> TaskActions:
        return cast(TaskActions, self.app)

    async def discover(self) -> Hits:
        """Every action, before anything is typed."""
        for title, callback, help_text in task_commands(self._actions):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Actions matching ``query``, best first."""
        matcher = self.matcher(query)
        for title, callback, help_text in task_commands(self._actions):
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
