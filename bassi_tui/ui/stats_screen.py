"""StatsScreen: how the runs went and what they cost, plotted per day, and the top spenders.

``S`` on the cards (or "Stats" in the command palette) opens it for the selected task; ``a``
switches between that task and all tasks, ``d`` between the last 7 and 30 days, and the first
line always says which. It plots runs and failures, the run time (p50, p95), tokens and cost
per day, and lists the tasks that cost the most over the same days.

With room (``GRID_WIDTH`` x ``GRID_HEIGHT`` cells, as at 120x40) the four plots are a grid with
the spenders below; in less (80x24) one panel at a time fills the screen, named on a line of
its own, and ``←``/``→`` (``h``/``l``) or ``1``-``5`` page through them. The run records are read
once, for the longest window, in a thread worker (a loading sign shows meanwhile); switching
task or days only recounts them; what it shows is what was on disk when it opened (open it
again for runs that ended since). Counting is :mod:`bassi_tui.store.analytics`'s, the same as
``bassi-tui stats``. A modal screen, so the main screen's keys (``r``, ``p``...) do not act on a
task out of sight; Esc or ``q`` closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from bassi_tui.scheduler.engine import Engine
from bassi_tui.store.analytics import (
    Series,
    Summary,
    daily,
    day_of,
    day_window,
    per_task,
    read_runs,
    top_spenders,
)
from bassi_tui.store.records import RunRecord
from bassi_tui.ui import format as fmt
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.stats_plots import (
    DayPlot,
    Palette,
    draw_cost,
    draw_duration,
    draw_runs,
    draw_tokens,
    drawer_for,
    marks,
)

#: The windows ``d`` switches between, in days; the records are read for the longest.
DAY_CHOICES = (7, 30)
#: The panels, in page order: (id, name on the page line).
PANELS = (
    ("runs", "Runs"),
    ("duration", "Duration"),
    ("tokens", "Tokens"),
    ("cost", "Cost"),
    ("spenders", "Top spenders"),
)
#: From this size on, every panel shows at once.
GRID_WIDTH = 110
GRID_HEIGHT = 34
#: Tasks listed as top spenders.
TOP = 5


def window_text(series: Series) -> str:
    """``last 7 days, Tue 24 Feb to Mon 02 Mar``."""
    first, last = series.first.strftime("%a %d %b"), series.last.strftime("%a %d %b")
    return f"last {len(series.days)} days, {first} to {last}"


def totals_text(total: Summary) -> str:
    """``12 runs · 1 failed · 92% ok · p50 4.2 s · p95 1m 01s · 9.2k tok · $0.42``."""
    if not total.runs:
        return "no runs in these days"
    sep = fmt.glyphs().separator
    parts = [f"{total.runs} run" + ("" if total.runs == 1 else "s"), f"{total.failures} failed"]
    if total.success_rate is not None:
        parts.append(f"{round(100 * total.success_rate)}% ok")
    if total.duration_p50 is not None:
        parts.append(f"p50 {fmt.duration(total.duration_p50)}")
        parts.append(f"p95 {fmt.duration(total.duration_p95)}")
    parts.append(f"{fmt.count(total.tokens)} tok")
    cost = total.cost_usd
    parts.append(fmt.cents(cost) if cost is not None else "cost unknown")
    return sep.join(parts)


def spenders_content(
    runs: Mapping[str, list[RunRecord]], series: Series, selected: str | None, width: int
) -> Content:
    """The tasks that cost most over ``series``' days, with a bar each; ``selected`` marked."""
    inside = {
        name: [
            r for r in records if (d := day_of(r)) is not None and series.first <= d <= series.last
        ]
        for name, records in runs.items()
    }
    top = top_spenders(per_task(inside), TOP)
    heading = Content.styled(f"Top spenders, {window_text(series)}", "bold $text-accent")
    if not top:
        return Content.assemble(heading, "\nNo run recorded a cost in these days.")
    most = top[0].summary.cost_usd or 1.0
    name_width = min(24, max(cell_len(one_line(t.name)) for t in top))
    bar_room = max(4, width - name_width - 30)
    glyphs = fmt.glyphs()
    parts: list[str | tuple[str, str] | Content] = [heading]
    for rank, total in enumerate(top, 1):
        cost = total.summary.cost_usd or 0.0
        mine = total.name == selected
        pointer = glyphs.pointer if mine else " "
        name = fmt.cut(one_line(total.name), name_width)
        name += " " * (name_width - cell_len(name))
        bar = marks().bar * max(1, round(bar_room * cost / most))
        runs_word = f"{total.summary.runs} run" + ("" if total.summary.runs == 1 else "s")
        parts += [
            f"\n{pointer}{rank} ",
            (name, "bold" if mine else ""),
            f" {fmt.cents(cost):>9}  ",
            (bar, "$text-warning"),
            (f" {runs_word}", "$text-muted"),
        ]
    return Content.assemble(*parts)


class StatsScreen(ModalScreen[None]):
    """Runs, durations, tokens and cost over time; see the module docstring."""

    DEFAULT_CSS = """
    StatsScreen {
        background: $background;
        & > #stats-title { height: auto; padding: 0 1; background: $panel; }
        & > #stats-pages { display: none; height: 1; padding: 0 1; color: $text-muted; }
        & > #stats-panels {
            layout: grid;
            grid-size: 2 3;
            grid-rows: 1fr 1fr auto;
            grid-gutter: 0 1;
            height: 1fr;
        }
        & .stats-panel { height: 1fr; }
        & #stats-spenders { column-span: 2; height: auto; padding: 0 1; }
        &.-paged > #stats-pages { display: block; }
        &.-paged > #stats-panels { layout: vertical; }
        &.-paged .stats-panel { display: none; }
        &.-paged .stats-panel.-current { display: block; }
        &.-paged #stats-spenders { height: 1fr; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="stats.close", tooltip="Close the stats"),
        Binding(
            "a",
            "toggle_scope",
            "Task/all",
            id="stats.scope",
            tooltip="Show the selected task, or all tasks together",
        ),
        Binding("d", "toggle_days", "7/30 days", id="stats.days", tooltip="The last 7 or 30 days"),
        Binding(
            "right,l",
            "page(1)",
            "Next plot",
            id="stats.next",
            key_display="→",
            tooltip="The next plot (when they do not all fit)",
        ),
        Binding(
            "left,h",
            "page(-1)",
            "Previous plot",
            id="stats.previous",
            show=False,
            tooltip="The previous plot",
        ),
        *(
            Binding(str(n), f"show_page({n - 1})", name, id=f"stats.page{n}", show=False)
            for n, (_, name) in enumerate(PANELS, 1)
        ),
    ]

    class Loaded(Message):
        """The run records were read (``runs`` by task), or could not be (``error``)."""

        def __init__(self, runs: dict[str, list[RunRecord]], error: str | None = None) -> None:
            super().__init__()
            self.runs = runs
            self.error = error

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], task: str | None = None
    ) -> None:
        super().__init__()
        self.engine = engine
        self.clock = clock
        #: The task shown when not showing all; None: there is none (all tasks only).
        self.task_name = task
        self.show_all = task is None
        self.days = DAY_CHOICES[0]
        self.page_index = 0
        #: Each task's records over the longest window (None: still reading them).
        self.by_task: dict[str, list[RunRecord]] | None = None
        self.load_error: str | None = None
        #: Runs that ended while the records were being read: counted once they are.
        self._ended: list[tuple[str, RunRecord]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="stats-title")
        yield Static(id="stats-pages")
        with Container(id="stats-panels"):
            for panel, _ in PANELS[:-1]:
                yield DayPlot(id=f"stats-{panel}", classes="stats-panel")
            yield Static(id="stats-spenders", classes="stats-panel")
        yield Footer()

    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)
        self.query_one("#stats-panels").loading = True
        self._show()
        # Asked on the UI thread (the engine's tables change on it); read in a worker.
        dirs: dict[str, Path] = {}
        for name in self.engine.names():
            task = self.engine.task(name)
            if task is not None:
                dirs[name] = task.results_dir
        first, _ = day_window(self.clock(), max(DAY_CHOICES))
        self.run_worker(
            partial(self._read, dirs, first),
            thread=True,
            group="stats",
            description="read the run records for the stats",
            exit_on_error=False,
        )

    def _read(self, dirs: dict[str, Path], first: date) -> None:
        try:
            runs = {name: read_runs(folder, first) for name, folder in dirs.items()}
        except Exception as exc:  # shown on the screen, never a crash
            self.post_message(self.Loaded({}, f"Could not read the run records: {exc}"))
            return
        self.post_message(self.Loaded(runs))

    @on(Loaded)
    def _on_loaded(self, message: Loaded) -> None:
        self.by_task, self.load_error = message.runs, message.error
        for task, record in self._ended:
            self._count(task, record)
        self._ended.clear()
        self.query_one("#stats-panels").loading = False
        self._show()

    def run_ended(self, task: str, record: RunRecord) -> None:
        """A run ended while the screen is open: counted at once (the app tells it)."""
        if self.by_task is None:
            self._ended.append((task, record))
            return
        self._count(task, record)
        self._show()

    def _count(self, task: str, record: RunRecord) -> None:
        """``record`` in ``by_task``, in place of what was read of the same run (its
        ``running`` record, when the read came while it ran)."""
        assert self.by_task is not None
        runs = self.by_task.setdefault(task, [])
        runs[:] = [r for r in runs if r.meta_file != record.meta_file]
        runs.append(record)

    # -- layout -------------------------------------------------------------------------------

    def on_resize(self) -> None:
        if self.query("#stats-pages"):  # a resize may come before the panels are composed
            self._fit(self.size.width, self.size.height)
            if self.by_task is not None:  # the spenders' bars, for the new width
                self.call_after_refresh(self._show)

    def _fit(self, width: int, height: int) -> None:
        paged = width < GRID_WIDTH or height < GRID_HEIGHT
        if paged != self.has_class("-paged"):
            self.set_class(paged, "-paged")
            self.refresh_bindings()
        self._show_page()

    def _show_page(self) -> None:
        for index, (panel, _) in enumerate(PANELS):
            self.query_one(f"#stats-{panel}").set_class(index == self.page_index, "-current")
        # The shown panel is bracketed and reversed: not told by colour alone.
        parts: list[str | tuple[str, str]] = []
        for index, (_, name) in enumerate(PANELS):
            if index == self.page_index:
                parts.append((f"[{index + 1} {name}]", "bold reverse"))
            else:
                parts.append(f" {index + 1} {name} ")
        parts.append(("  ← → or 1-5", "$text-muted"))
        self.query_one("#stats-pages", Static).update(Content.assemble(*parts))

    # -- content ------------------------------------------------------------------------------

    @property
    def scope_label(self) -> str:
        """What the plots show: the task's name, or ``all tasks``."""
        return "all tasks" if self.show_all or self.task_name is None else one_line(self.task_name)

    def _records(self) -> list[RunRecord]:
        runs = self.by_task or {}
        if self.show_all or self.task_name is None:
            return [r for records in runs.values() for r in records]
        return list(runs.get(self.task_name, []))

    def _show(self) -> None:
        sep = fmt.glyphs().separator
        series = daily(self._records(), self.clock(), self.days)
        head = Content.assemble(
            ("Stats", "bold"),
            sep,
            (self.scope_label, "bold $text-accent"),
            sep,
            window_text(series),
        )
        if self.by_task is None:
            body = Content.styled(f"Loading run records{fmt.glyphs().ellipsis}", "$text-muted")
        elif self.load_error is not None:
            body = Content.styled(one_line(self.load_error), "$text-error")
        else:
            body = Content(totals_text(series.total))
        self.query_one("#stats-title", Static).update(Content.assemble(head, "\n", body))
        if self.by_task is None:
            return
        colours = Palette.from_theme(self.app.theme_variables)
        for panel, draw in (
            ("runs", draw_runs),
            ("duration", draw_duration),
            ("tokens", draw_tokens),
            ("cost", draw_cost),
        ):
            plot = self.query_one(f"#stats-{panel}", DayPlot)
            plot.draw(drawer_for(draw, series, colours))
        spenders = self.query_one("#stats-spenders", Static)
        width = max(40, spenders.size.width or self.size.width)
        spenders.update(spenders_content(self.by_task, series, self.task_name, width))

    # -- keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Paging only when the panels do not all show; ``a`` only with a task to switch to."""
        if action in ("page", "show_page"):
            return self.has_class("-paged")
        if action == "toggle_scope":
            return self.task_name is not None
        return True

    def action_close(self) -> None:
        """Back to the cards."""
        self.dismiss(None)

    def action_toggle_scope(self) -> None:
        """The selected task, or all tasks."""
        if self.task_name is not None:
            self.show_all = not self.show_all
            self._show()

    def action_toggle_days(self) -> None:
        """The next window of ``DAY_CHOICES``."""
        index = DAY_CHOICES.index(self.days)
        self.days = DAY_CHOICES[(index + 1) % len(DAY_CHOICES)]
        self._show()

    def action_page(self, delta: int) -> None:
        """The next (1) or previous (-1) panel."""
        self.page_index = (self.page_index + delta) % len(PANELS)
        self._show_page()

    def action_show_page(self, index: int) -> None:
        """Panel ``index`` (0-based)."""
        self.page_index = max(0, min(len(PANELS) - 1, index))
        self._show_page()
