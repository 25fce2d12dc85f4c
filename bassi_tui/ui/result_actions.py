"""The result actions of the app: details (``d``), the pager (``o``) and copying (``y``, ``Y``).

A base class of :class:`bassi_tui.ui.app.BassiApp`, kept apart so each file holds one thing.
What they need from disk is gathered in thread workers through the engine and the domain
(:meth:`Engine.details`, :func:`diff_files`); the UI never reads task folders itself.

Copying uses OSC 52 (Textual's ``copy_to_clipboard``): the terminal puts the text on the
clipboard of the machine the person sits at, over SSH and through tmux (with ``set-clipboard
on``), where no clipboard tool of this machine could reach.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Mapping

from textual import work
from textual.app import App, SuspendNotSupported

from bassi_tui.notify.changes import diff_files
from bassi_tui.scheduler.engine import Engine
from bassi_tui.store.records import RunRecord
from bassi_tui.ui.details_screen import DIFF_LINES_SHOWN, DetailsScreen
from bassi_tui.ui.result_view import ResultView
from bassi_tui.ui.task_list import TaskList

__all__ = ["COPY_MAX_BYTES", "ResultActionsApp", "pager_command"]

#: The largest text ``Y`` copies: terminals and tmux cap OSC 52 payloads (often near 100 KB).
COPY_MAX_BYTES = 64 * 1024


def pager_command(env: Mapping[str, str]) -> list[str]:
    """``$PAGER`` (split as a shell would), else ``less``: plain, without ``-R``, so control
    characters in model output stay visible as ``^X`` instead of acting on the terminal."""
    pager = env.get("PAGER") or "less"
    return shlex.split(pager)


class ResultActionsApp(App[None]):
    """Actions on the selected task's shown run."""

    engine: Engine

    def _shown(self) -> tuple[str | None, RunRecord | None, RunRecord | None]:
        name = self.query_one(TaskList).selected
        shown, older = self.query_one(ResultView).shown_runs()
        return name, shown, older

    def action_details(self) -> None:
        """Show everything about the selected task, and what changed in the shown run."""
        name, shown, older = self._shown()
        if name is None:
            self.notify("No task selected.", severity="warning")
            return
        self._gather_details(name, shown, older)

    @work(
        thread=True,
        exclusive=True,
        group="details",
        description="gather a task's details",
        exit_on_error=False,
    )
    def _gather_details(self, name: str, shown: RunRecord | None, older: RunRecord | None) -> None:
        details = self.engine.details(name)
        if details is None:
            self.call_from_thread(self.notify, f"{name} is gone.", severity="warning")
            return
        diff: list[str] | str | None = None
        if shown is not None and shown.running:
            diff = "The run is still going: its changes show once it ends."
        elif shown is not None and shown.output_file is not None and older is not None:
            assert older.output_file is not None
            diff = diff_files(
                older.output_file,
                shown.output_file,
                older_name=older.stem,
                newer_name=shown.stem,
                limit=DIFF_LINES_SHOWN + 1,
            )
        self.call_from_thread(self.push_screen, DetailsScreen(details, shown, diff))

    def action_rerun(self) -> None:
        """Run the shown run's saved prompt again, as a new manual run of its task."""
        name, shown, _ = self._shown()
        if name is None or shown is None:
            self.notify("No run to run again.", severity="warning")
            return
        self._rerun(name, shown)

    @work(
        thread=True,
        exclusive=True,
        group="rerun",
        description="read a run's prompt",
        exit_on_error=False,
    )
    def _rerun(self, name: str, shown: RunRecord) -> None:
        try:
            prompt = shown.prompt_file.read_text(encoding="utf-8")
        except OSError:
            self.call_from_thread(
                self.notify,
                "This run kept no prompt (it is older than saved prompts).",
                severity="warning",
            )
            return
        self.call_from_thread(self._send_again, name, shown.stem, prompt)

    def _send_again(self, name: str, stem: str, prompt: str) -> None:
        if self.engine.rerun(name, prompt):
            self.notify(f"Running {name} again with the prompt of {stem}…", timeout=3)
        else:
            self.notify(f"{name} did not start: see the log (l).", severity="warning")

    def action_open_pager(self) -> None:
        """Open the shown run's output in ``$PAGER`` (the app keeps scheduling meanwhile)."""
        _, shown, _ = self._shown()
        if shown is None or shown.output_file is None:
            self.notify("No result to open.", severity="warning")
            return
        self.run_worker(
            self._page(shown.output_file.as_posix()),
            group="pager",
            description="page a result",
            exit_on_error=False,
        )

    async def _page(self, path: str) -> None:
        command = [*pager_command(os.environ), path]
        try:
            with self.suspend():
                process = await asyncio.create_subprocess_exec(*command)
                await process.wait()
        except SuspendNotSupported:
            self.notify(f"Cannot open a pager here; the result is {path}", severity="warning")
        except OSError as exc:
            self.notify(f"Cannot start the pager {command[0]!r}: {exc}", severity="error")

    def action_copy_path(self) -> None:
        """Copy the shown result's path to the clipboard (OSC 52)."""
        _, shown, _ = self._shown()
        if shown is None or shown.output_file is None:
            self.notify("No result to copy.", severity="warning")
            return
        self.copy_to_clipboard(str(shown.output_file))
        self.notify(f"Copied {shown.output_file}", timeout=3)

    def action_copy_text(self) -> None:
        """Copy the shown result's text to the clipboard (OSC 52), if it is small enough."""
        _, shown, _ = self._shown()
        if shown is None or shown.output_file is None:
            self.notify("No result to copy.", severity="warning")
            return
        self._copy_text(str(shown.output_file))

    @work(
        thread=True, exclusive=True, group="copy", description="copy a result", exit_on_error=False
    )
    def _copy_text(self, path: str) -> None:
        try:
            with open(path, "rb") as handle:
                data = handle.read(COPY_MAX_BYTES + 1)
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"Cannot read {path}: {exc.strerror}", severity="error"
            )
            return
        if len(data) > COPY_MAX_BYTES:
            self.call_from_thread(
                self.notify,
                f"Too big to copy through the terminal (over {COPY_MAX_BYTES // 1024} KB): "
                "y copies its path",
                severity="warning",
            )
            return
        text = data.decode("utf-8", "replace")
        self.call_from_thread(self.copy_to_clipboard, text)
        self.call_from_thread(self.notify, f"Copied the text ({len(data):,} bytes)", timeout=3)
