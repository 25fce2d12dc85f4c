"""RunHistory: a task's runs, newest first, one line each, drawn virtually (Line API).

Months of a ten-second task are a quarter of a million runs; only the lines on screen are drawn.
The parent sets ``records`` and ``index``; the list posts ``RunHistory.Picked`` when the user
moves to another run (arrows, j/k, click).

Fires that did not become runs (``skipped`` while a run was still going, ``missed`` while no
bassi-tui scheduled) have no files in results/: only last_run.json's history names them.
:func:`not_run_records` turns those entries into records with no files, and
:func:`with_not_runs` puts each below the run before it, so the history shows them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bassi_tui.store.models import RESULTS_DIR
from bassi_tui.store.records import NOT_RUNS, HistoryEntry, RunRecord
from bassi_tui.ui import format as fmt
from bassi_tui.ui.big_text import set_virtual_size
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.styles import ink

TONES = ("success", "error", "warning", "running", "muted", "plain")


def not_run_records(name: str, folder: Path, history: Iterable[HistoryEntry]) -> list[RunRecord]:
    """The fires of ``history`` (last_run.json's) that were skipped or missed, as records with
    no files, newest first. Each is named after its moment and status (``<stamp>.skipped``), so
    it never shares a name with a run's files."""
    records = []
    for entry in history:
        if entry.status not in NOT_RUNS:
            continue
        stamp = entry.timestamp.strftime("%Y-%m-%d_%H-%M-%S")
        records.append(
            RunRecord(
                meta_file=folder / RESULTS_DIR / f"{stamp}.{entry.status}.entry",
                output_file=None,
                task_name=name,
                status=entry.status,
                start=entry.timestamp,
                trigger=str(entry.extra.get("trigger", "scheduled")),
                error=entry.error,
            )
        )
    records.sort(key=lambda r: r.start or datetime.min, reverse=True)
    return records


def with_not_runs(runs: Sequence[RunRecord], not_runs: Sequence[RunRecord]) -> list[RunRecord]:
    """``runs`` (newest first) with ``not_runs`` (newest first) put in; one already among
    ``runs`` is not added twice.

    A fire that did not run goes just below the run that started before it: a skip below the
    run it was skipped for. So the newest line is always the newest run, and the viewer (which
    shows the newest line) keeps showing its result when a fire was skipped while it ran.
    """
    have = {record.meta_file for record in runs}
    pending = [record for record in not_runs if record.meta_file not in have]
    merged: list[RunRecord] = []
    for run in runs:
        merged.append(run)
        started = run.started
        while pending and started is not None and _at_or_after(pending[0], started):
            merged.append(pending.pop(0))
    return merged + pending


def _at_or_after(record: RunRecord, moment: datetime) -> bool:
    start = record.start
    return start is not None and start >= moment


def run_summary(record: RunRecord, now: datetime) -> list[tuple[str, str]]:
    """The pieces (text, tone) of one history line: status, start, trigger, duration, tokens;
    for a fire that did not run, why."""
    status = record.status
    started = record.started
    when = fmt.stamp(started, now) if started else record.stem
    took = fmt.duration(record.duration)
    pieces = [
        (f"{fmt.status_symbol(status)} {status:<11}", fmt.status_tone(status)),
        (f" {when}", "plain"),
    ]
    if status in NOT_RUNS:  # a scheduled fire: why it did not run instead of a trigger
        if record.error:
            pieces.append((f" {one_line(record.error)}", "muted"))
        return pieces
    pieces.append((f" {record.trigger:<9}", "muted"))
    if status != "running":
        pieces.append((f" {took:>7}", "muted"))
    if tokens := fmt.tokens(record.input_tokens, record.output_tokens):
        pieces.append((f" {tokens}", "muted"))
    return pieces


class RunHistory(ScrollView, can_focus=True):
    """One line per run; see the module docstring."""

    DEFAULT_CSS = """
    RunHistory {
        background: $surface;
        overflow-x: hidden;
        & > .run-history--cursor { background: $primary 15%; }
        &:focus > .run-history--cursor { background: $block-cursor-blurred-background; }
        & > .run-history--success { color: $text-success; }
        & > .run-history--error { color: $text-error; }
        & > .run-history--warning { color: $text-warning; }
        & > .run-history--running { color: $text-accent; text-style: bold; }
        & > .run-history--muted { color: $text-muted; }
        & > .run-history--plain { }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "run-history--cursor",
        *(f"run-history--{tone}" for tone in TONES),
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Newer run", show=False, id="history.up"),
        Binding("down,j", "move(1)", "Older run", show=False, id="history.down"),
    ]

    class Picked(Message):
        """The user moved to run ``index`` of the history."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.records: Sequence[RunRecord] = ()
        self.index = 0

    def show(self, records: Sequence[RunRecord], index: int) -> None:
        """Show ``records`` with run ``index`` highlighted and in view."""
        rows_before = len(self.records)
        self.records = records
        self.index = index
        size = Size(self.scrollable_content_region.width, len(records))
        if len(records) == rows_before:  # same height: no need to lay the screen out again
            set_virtual_size(self, size)
        else:
            self.virtual_size = size
        # After the refresh: the new virtual size must be laid out before scrolling to a row.
        self.call_after_refresh(self._scroll_to_index)
        self.refresh()

    def _scroll_to_index(self) -> None:
        height = self.scrollable_content_region.height
        if self.index < self.scroll_y:
            self.scroll_to(y=self.index, animate=False, immediate=True)
        elif height and self.index >= self.scroll_y + height:
            self.scroll_to(y=self.index - height + 1, animate=False, immediate=True)

    def action_move(self, delta: int) -> None:
        """Pick the run ``delta`` lines away."""
        if self.records:
            self.post_message(self.Picked(max(0, min(len(self.records) - 1, self.index + delta))))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and 0 <= (row := offset.y + int(self.scroll_y)) < len(self.records):
            self.post_message(self.Picked(row))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = int(self.scroll_y) + y
        if row >= len(self.records):
            return Strip.blank(width, base)
        picked = row == self.index
        if picked:
            base = base + self.get_component_rich_style("run-history--cursor")
        now = self.clock()
        pieces = run_summary(self.records[row], now)
        segments = [Segment(fmt.glyphs().pointer if picked else " ", base)] + [
            Segment(text, base + ink(self, f"run-history--{t}"))
            for text, t in _cut(pieces, width - 1)
        ]
        return Strip(segments).crop_extend(0, width, base)


def _cut(pieces: list[tuple[str, str]], width: int) -> list[tuple[str, str]]:
    """``pieces`` in ``width`` cells, the cut one ending in the ellipsis."""
    out: list[tuple[str, str]] = []
    room = width
    for text, tone in pieces:
        if room <= 0:
            break
        kept = fmt.cut(text, room)
        out.append((kept, tone))
        room -= cell_len(kept)
        if kept != text:
            break
    return out
