"""The task actions of the app (run now, pause/resume, edit the prompt, select), keys and palette.

A base class of :class:`bassi_tui.ui.app.BassiApp`, kept apart so each file holds one thing.
Actions ask the engine; they never write task files themselves (``set_enabled`` is the engine's).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from textual.app import App, SuspendNotSupported

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import TaskView
from bassi_tui.store.models import PROMPT_FILE
from bassi_tui.ui import format as fmt
from bassi_tui.ui.confirm import ConfirmScreen
from bassi_tui.ui.result_view import ResultView
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.task_list import TaskList

log = logging.getLogger(__name__)


def editor_command(env: Mapping[str, str], path: Path) -> list[str]:
    """The argv that edits ``path``: ``$VISUAL``, else ``$EDITOR``, else ``vi``."""
    editor = env.get("VISUAL") or env.get("EDITOR") or "vi"
    return [*shlex.split(editor), str(path)]


class TaskActionsApp(App[None]):
    """Task actions shared by the keys and the command palette."""

    engine: Engine
    clock: Callable[[], datetime]

    # -- what the palette asks ----------------------------------------------------------------

    def task_names(self) -> list[str]:
        """Every task's name, sorted."""
        return list(self.query_one(TaskList).names)

    def task_enabled(self, name: str) -> bool:
        """True unless the task is paused."""
        view = self.query_one(TaskList).view(name)
        return view is None or view.enabled

    def select_task(self, name: str) -> None:
        """Select a task's card (and show its results)."""
        self.query_one(TaskList).select(name)

    # -- actions ------------------------------------------------------------------------------

    def _selected_view(self) -> TaskView | None:
        cards = self.query_one(TaskList)
        view = cards.view(cards.selected) if cards.selected else None
        if view is None:
            self.notify("No task selected.", severity="warning")
        return view

    def action_run_selected(self) -> None:
        """Run the selected task now."""
        if (view := self._selected_view()) is not None:
            self.run_task(view.name)

    def action_toggle_selected(self) -> None:
        """Pause or resume the selected task."""
        if (view := self._selected_view()) is not None:
            self.toggle_task(view.name)

    def action_edit_selected(self) -> None:
        """Edit the selected task's prompt."""
        if (view := self._selected_view()) is not None:
            self.edit_task(view.name)

    def action_cancel_selected(self) -> None:
        """Cancel the selected task's run in flight (after a confirmation)."""
        if (view := self._selected_view()) is not None:
            self.cancel_task(view.name)

    def cancel_task(self, name: str) -> None:
        """Ask, then cancel ``name``'s run in flight: recorded ``cancelled``, not notified.

        The runs asked about are the ones in flight when asked: one that ends while the
        question is open is not confused with a run that starts meanwhile. A monitor's cancel
        goes to the scheduling instance (a request file); the run's end shows as usual.
        """
        if isinstance(self.screen, ConfirmScreen):
            return
        label = one_line(name)
        run_ids = self.engine.run_ids(name)
        view = self.query_one(TaskList).view(name)
        if not run_ids or view is None:
            self.notify(f"{label} is not running.", severity="warning", timeout=3)
            return
        since = view.running_since
        running = f" (running {fmt.span((self.clock() - since).total_seconds())})" if since else ""

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if not self.engine.cancel_run(name, run_ids):
                self.notify(f"{label} is not running any more.", severity="warning", timeout=3)
            elif self.engine.role == "monitor":
                self.notify(f"Asked the scheduling instance to cancel {label}…", timeout=3)
            else:
                self.notify(f"Cancelling {label}…", timeout=2)

        question = f"Cancel the run of {label}{running}?"
        self.push_screen(ConfirmScreen(question, title="Cancel run"), answered)

    def run_task(self, name: str) -> None:
        """Start a run of ``name`` now (the engine applies its overlap policy)."""
        label = one_line(name)
        task = self.engine.task(name)
        if task is None or not task.ok:
            self.notify(f"{label} is broken: fix the error on its card first.", severity="error")
            return
        if self.engine.is_running(name) and task.config.overlap == "skip":
            # The engine would record a skipped run; a key press should not leave that trace.
            self.notify(f"{label} is already running.", severity="warning")
            return
        if self.engine.run_now(name):
            self.notify(f"Running {label}…", timeout=2)
            if name == self.query_one(TaskList).selected:
                self.query_one(ResultView).follow_newest()  # you asked for it: show it
        else:
            self.notify(f"{label} did not start: see the log (l).", severity="warning")

    def toggle_task(self, name: str) -> None:
        """Pause a running schedule or resume a paused one (edits ``enabled:``)."""
        view = self.query_one(TaskList).view(name)
        label = one_line(name)
        if view is None:
            return
        if not view.ok:
            self.notify(f"{label} is broken: fix the error on its card first.", severity="error")
            return
        try:
            self.engine.set_enabled(name, not view.enabled)
        except (KeyError, OSError, ValueError) as exc:
            self.notify(f"Cannot change {label}: {exc}", severity="error")
            return
        self.notify(f"{'Paused' if view.enabled else 'Resumed'} {label}.", timeout=2)

    def edit_task(self, name: str) -> None:
        """Open ``name``'s prompt.txt in the editor; the watcher picks up the change."""
        view = self.query_one(TaskList).view(name)
        if view is not None:
            self.run_worker(
                self._edit(view.path / PROMPT_FILE),
                group="editor",
                description=f"edit the prompt of {name}",
                exit_on_error=False,
            )

    async def _edit(self, path: Path) -> None:
        command = editor_command(os.environ, path)
        try:
            with self.suspend():
                # Awaited, not run blocking: the engine keeps firing tasks while you edit.
                process = await asyncio.create_subprocess_exec(*command)
                await process.wait()
        except SuspendNotSupported:
            self.notify(f"Cannot open an editor here; edit {path} yourself.", severity="warning")
        except OSError as exc:
            self.notify(f"Cannot start the editor {command[0]!r}: {exc}", severity="error")
