"""ResultView: the selected task's runs (newest first), the chosen run's facts and its text.

The app hands it a task's records (``show_records``) and, while the task runs, the live output
(``live``). Result files are opened in a thread worker through the store
(:func:`bassi_tui.store.result_text.open_result_text`), which only posts ``TextOpened`` back:
the UI never blocks on a big file. A big file is shown once its first megabyte is indexed; the
worker indexes the rest in chunks and posts ``TextGrew`` as the line count grows. ``[`` and
``]`` call :meth:`step`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from bassi_tui.store.records import RunRecord
from bassi_tui.store.result_text import FIRST_INDEX, ResultText, open_result_text
from bassi_tui.ui import format as fmt
from bassi_tui.ui.big_text import BigText, Document
from bassi_tui.ui.live_text import LiveText
from bassi_tui.ui.run_history import RunHistory
from bassi_tui.ui.sanitize import one_line

TONE_STYLES = {
    "success": "$text-success",
    "error": "$text-error",
    "warning": "$text-warning",
    "running": "bold $text-accent",
    "muted": "$text-muted",
    "plain": "",
}


def merge_runs(read: Sequence[RunRecord], told: Iterable[RunRecord]) -> list[RunRecord]:
    """Runs read from results/ with the runs events told of meanwhile, newest first.

    A read that began before a run started lacks it, and one that began before a run ended
    shows it running: what the events told wins unless the file already says the run is over.
    """
    records = list(read)
    where = {record.meta_file: i for i, record in enumerate(records)}
    newer: list[RunRecord] = []
    for record in told:
        i = where.get(record.meta_file)
        if i is None:
            newer.append(record)
        elif records[i].running or not record.running:
            records[i] = record
    newer.sort(key=lambda r: r.stem, reverse=True)
    return newer + records


class ResultView(Vertical):
    """History, facts and text of the selected task's runs."""

    class TextOpened(Message):
        """A thread worker opened a result file (``document`` None: ``error`` says why)."""

        def __init__(
            self,
            token: int,
            document: ResultText | None,
            error: str = "",
            keep_scroll: bool = False,
        ) -> None:
            super().__init__()
            self.token = token
            self.document = document
            self.error = error
            self.keep_scroll = keep_scroll

    class TextGrew(Message):
        """More lines of the opened result file are indexed (posted by the worker)."""

        def __init__(self, token: int, document: ResultText) -> None:
            super().__init__()
            self.token = token
            self.document = document

    #: At most this often a growing index is shown (seconds).
    GREW_INTERVAL = 0.1

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.task_name: str | None = None
        self.records: Sequence[RunRecord] = ()
        self.index = 0
        self.live: LiveText | None = None
        #: Set by the app: the task cannot run, so "press r" would be bad advice.
        self.broken = False
        self._shown: tuple[str, str] | None = None  # (stem, status) on screen
        self._token = 0
        self._facts_shown: tuple[str, tuple[object, ...]] | None = None
        #: Which of the shown run's written files is on screen (None: the run's output).
        self._file_index: int | None = None

    def compose(self) -> ComposeResult:
        yield RunHistory(self.clock, id="history")
        yield Static(id="run-facts", markup=False)
        yield BigText(id="result-text")

    def on_mount(self) -> None:
        self.show_task(None)

    # -- attributes from the app --------------------------------------------------------------

    def show_task(self, name: str | None) -> None:
        """Switch to task ``name``; its records follow through :meth:`show_records`.

        What was shown stays (history, facts, text and the ``-empty`` class) until they do, so a
        key press costs one restyle and layout, not two.
        """
        self.task_name = name
        self.records, self.index, self._shown, self.live = (), 0, None, None
        self._token += 1  # a file still opening for the previous task is not shown
        self.border_title = Content(f"Results · {one_line(name)}" if name else "Results")
        if name is None or not self.is_mounted or self._text.document is None:
            self.add_class("-empty")
            self.border_subtitle = ""
            self.query_one(RunHistory).show((), 0)
            self._set_facts(Content(""))
            self._text.show(None, "Loading…" if name else "No task selected.")

    def show_records(self, records: Sequence[RunRecord], live: LiveText | None) -> None:
        """New records of the current task: stay on the run shown unless it was the newest."""
        self.live = live
        stem = self.records[self.index].stem if self.records and self.index else None
        self.records = records
        index = next((i for i, r in enumerate(records) if r.stem == stem), 0) if stem else 0
        self._pick(index)

    def take_run(self, record: RunRecord, live: LiveText | None) -> None:
        """A run of the current task started or ended: put its record in the history.

        Comes from the run's own events, so nothing is read from disk; a record of the same run
        (same files) already shown is replaced, a new one goes on top.
        """
        records = list(self.records)
        for i, old in enumerate(records):
            if old.meta_file == record.meta_file:
                records[i] = record
                break
        else:
            records.insert(0, record)
        self.show_records(records, live)

    def follow_newest(self) -> None:
        """Show the newest run, and keep showing the newest as runs arrive."""
        if self.records and self.index:
            self._pick(0)
        self.index = 0

    def live_grew(self) -> None:
        """The live output of the current task got more text."""
        if self.live is not None and self._text.document is self.live:
            self._text.document_grew()

    def live_reset(self) -> None:
        """The live output started over (a retry): show it again from the top."""
        if self.live is not None and self._text.document is self.live:
            self._text.show(self.live, follow=True)

    def step(self, delta: int) -> None:
        """Move ``delta`` runs through the history (+1 older, -1 newer)."""
        if self.records:
            self._pick(max(0, min(len(self.records) - 1, self.index + delta)))

    def focus_text(self) -> None:
        """Put the keyboard on the text."""
        self._text.focus()

    def next_file(self) -> str | None:
        """Show the next file the shown run's agent wrote (after the last: the run's output);
        what is shown now, or None when the run wrote no file."""
        if not self.records:
            return None
        record = self.records[self.index]
        if not record.files:
            return None
        nxt = 0 if self._file_index is None else self._file_index + 1
        self._token += 1
        if nxt >= len(record.files):
            self._file_index = None
            self._shown = None  # the run's output again, as on a fresh pick
            self._pick(self.index)
            return "the run's output"
        self._file_index = nxt
        written = record.files[nxt]
        self.border_subtitle = Content.assemble(
            f"file {nxt + 1} of {len(record.files)}: {one_line(written.path)} · ",
            ("f", "bold"),
            " next",
        )
        self._text.show(None, "Opening…")
        self._open(record.written_file(written), self._token, False)
        return written.path

    def shown_runs(self) -> tuple[RunRecord | None, RunRecord | None]:
        """The run on screen, and the last successful run before it (None when there is none)."""
        if not self.records:
            return None, None
        shown = self.records[self.index]
        older = next(
            (
                r
                for r in self.records[self.index + 1 :]
                if r.status == "success" and r.output_file is not None
            ),
            None,
        )
        return shown, older

    # -- internals ----------------------------------------------------------------------------

    @property
    def _text(self) -> BigText:
        return self.query_one("#result-text", BigText)

    @on(RunHistory.Picked)
    def _on_picked(self, event: RunHistory.Picked) -> None:
        event.stop()
        self._pick(event.index)

    def _pick(self, index: int) -> None:
        self.index = index
        self._file_index = None
        self.set_class(not self.records, "-empty")
        self.query_one(RunHistory).show(self.records, index)
        if not self.records:
            self._shown = None
            self.border_subtitle = ""
            self._set_facts(Content(""))
            self._text.show(None, self._hint())
            return
        record = self.records[index]
        self.border_subtitle = Content.assemble(
            f"run {index + 1} of {len(self.records)} · ",
            ("[", "bold"),
            " older  ",
            ("]", "bold"),
            " newer",
        )
        self._set_facts(self._facts(record))
        shown = (record.stem, record.status)
        if shown == self._shown:
            return
        same_run = self._shown is not None and self._shown[0] == record.stem
        self._shown = shown
        live = self.live
        streaming = live is not None and record.run_id == live.run_id
        if record.status == "running" and live is not None and streaming:
            self._token += 1
            self._text.show(live, follow=True)
        elif record.output_file is None:
            self._token += 1
            self._text.show(None, "This run left no output file.")
        else:
            self._token += 1
            if not same_run:
                self._text.show(None, "Opening…")
            self._open(record.output_file, self._token, same_run)

    def _hint(self) -> str:
        name = one_line(self.task_name or "")
        if not name:
            return "No task selected."
        if self.broken:
            return f"No runs yet. Fix the error on the card of {name}; it reloads when you save."
        return f"No runs yet. Press r to run {name} now."

    def set_broken(self, broken: bool) -> None:
        """The app says whether the task is broken (it changes the advice when it has no runs)."""
        if broken != self.broken:
            self.broken = broken
            if not self.records and self.task_name and self._text.document is None:
                self._text.show(None, self._hint())

    def _set_facts(self, facts: Content) -> None:
        # An update lays the whole screen out again (the line's height may change): skipped
        # when nothing changed, as when j/k go through tasks that have not run yet.
        key = (facts.plain, tuple(facts.spans))  # Content's == compares the text only
        if key != self._facts_shown:
            self._facts_shown = key
            self.query_one("#run-facts", Static).update(facts)

    def _facts(self, record: RunRecord) -> Content:
        """What the history line leaves out: the file, model, attempts, and the error if any."""
        parts: list[str | tuple[str, str]] = []
        if record.output_file is not None:
            parts.append((one_line(record.output_file.name), "$text-muted"))
        if model := record.model:
            parts.append((f" · model {one_line(model)}", "$text-muted"))
        if (attempts := record.attempts) > 1:
            parts.append((f" · {attempts} attempts", "$text-warning"))
        if record.turns is not None:
            parts.append(
                (f" · {record.turns} turn{'s' if record.turns != 1 else ''}", "$text-muted")
            )
        if record.cost_usd is not None:
            parts.append((f" · {fmt.cost(record.cost_usd)}", "$text-muted"))
        elif record.cost_note is not None:
            parts.append((" · cost unknown", "$text-muted"))
        if record.running:
            parts.append((" · still running", TONE_STYLES["running"]))
        if record.change is not None:
            tone = "$text-accent" if record.changed else "$text-muted"
            parts.append((" · ", "$text-muted"))
            parts.append((record.change if record.changed is not False else "unchanged", tone))
            if record.changed:
                parts.append((" (d shows it)", "$text-muted"))
        if notices := record.notifications:
            failed = [n for n in notices if not n.ok]
            told = f" · told {len(notices)} channel{'s' if len(notices) != 1 else ''}"
            parts.append((told, "$text-muted"))
            if failed:
                parts.append((f", {len(failed)} failed", "$text-error"))
        if error := record.error:
            parts.append((f"\n{fmt.status_symbol(record.status)} {one_line(error)}", "$text-error"))
        if files := record.files:
            listed = ", ".join(f"{one_line(f.path)} ({fmt.size(f.bytes)})" for f in files[:3])
            more = f" and {len(files) - 3} more" if len(files) > 3 else ""
            count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
            parts.append((f"\nwrote {count}: {listed}{more} · ", "$text-muted"))
            parts.append(("f", "bold"))
            parts.append((" shows them", "$text-muted"))
        return Content.assemble(*parts)

    @work(
        thread=True,
        exclusive=True,
        group="result-text",
        description="open a result file",
        exit_on_error=False,
    )
    def _open(self, path: Path, token: int, keep_scroll: bool) -> None:
        try:
            document = open_result_text(path, first_bytes=FIRST_INDEX)
            self.post_message(self.TextOpened(token, document, keep_scroll=keep_scroll))
            worker, posted = get_current_worker(), time.monotonic()
            while not document.complete:
                if worker.is_cancelled or token != self._token:
                    return  # another file was asked for: stop indexing this one
                done = document.index_more()
                if done or time.monotonic() - posted >= self.GREW_INTERVAL:
                    self.post_message(self.TextGrew(token, document))
                    posted = time.monotonic()
        except FileNotFoundError:
            self.post_message(self.TextOpened(token, None, "The output file is gone."))
        except Exception as exc:  # any failure is shown in place, never a crash
            self.post_message(self.TextOpened(token, None, f"Cannot open the output: {exc}"))

    @on(TextOpened)
    def _on_text_opened(self, event: TextOpened) -> None:
        event.stop()
        if event.token != self._token:
            if event.document is not None:
                event.document.close()
            return
        document: Document | None = event.document
        if document is None:
            self._text.show(None, event.error)
        elif document.line_count == 0:
            self._text.show(None, "(empty output)")
        else:
            self._text.show(document, keep_scroll=event.keep_scroll)

    @on(TextGrew)
    def _on_text_grew(self, event: TextGrew) -> None:
        event.stop()
        if event.token == self._token and self._text.document is event.document:
            self._text.document_grew()
