"""BassiApp: the Textual app over one Engine: task cards, a result viewer, a log pane and keys.

The app owns the engine (or is handed one, for tests) and runs it in its own event loop. Engine
events arrive through ``engine.subscribe`` on the loop thread and are posted as messages
(:mod:`bassi_tui.ui.messages`); streamed output is buffered and flushed every
``FLUSH_INTERVAL`` seconds, and only the selected task's output is drawn. While the engine
starts, its per-task events are ignored (the cards are filled once from ``engine.views()`` when
it has started) and log lines are handed to the log pane in batches. Attributes go down to
the widgets, messages come up from them; the widgets never talk to each other.
"""

from __future__ import annotations

import functools
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.filter import LineFilter
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from bassi_tui.notify.policy import FAILURE_STATUSES
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import EngineEvent, LogLine, TaskChanged, TaskView
from bassi_tui.scheduler.handover import hand_over
from bassi_tui.scheduler.lock import InstanceLock
from bassi_tui.scheduler.logbridge import log_events
from bassi_tui.scheduler.signals import exit_code, on_stop_signals, signal_name
from bassi_tui.store.preload import Preload
from bassi_tui.store.records import RunRecord
from bassi_tui.store.state import local_now
from bassi_tui.ui import format as fmt
from bassi_tui.ui import messages as msg
from bassi_tui.ui.actions import TaskActionsApp
from bassi_tui.ui.commands import TaskCommands
from bassi_tui.ui.confirm import ConfirmScreen
from bassi_tui.ui.format import short_path
from bassi_tui.ui.help_screen import HelpScreen, help_sections
from bassi_tui.ui.live_text import LiveOutputs
from bassi_tui.ui.log_pane import LogPane
from bassi_tui.ui.result_actions import ResultActionsApp
from bassi_tui.ui.result_view import ResultView, merge_runs
from bassi_tui.ui.run_history import not_run_records, with_not_runs
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.stats_screen import StatsScreen
from bassi_tui.ui.styles import AsciiFilter, Look, detect_look
from bassi_tui.ui.task_list import ORDER_TITLES, TaskList, no_tasks_text

log = logging.getLogger(__name__)

Handler = TypeVar("Handler", bound=Callable[..., None])


def while_open(handler: Handler) -> Handler:
    """Let a message handler or timer tick that arrives while the app quits do nothing.

    Textual removes the app's widgets before its message queue and timers stop, so a run event,
    a results read or the live-output tick can still come when the widgets it would update are
    gone. Only then is the NoMatches dropped; while the app runs it is a bug and is raised.
    """

    @functools.wraps(handler)
    def guarded(self: BassiApp, *args: Any, **kwargs: Any) -> None:
        try:
            handler(self, *args, **kwargs)
        except NoMatches:
            if not self.quitting:
                raise

    return cast(Handler, guarded)


FLUSH_INTERVAL = 0.25
#: Below this many rows the log pane starts hidden (``l`` shows it).
LOG_MIN_HEIGHT = 30


class BassiApp(ResultActionsApp, TaskActionsApp):
    """bassi-tui's app; see the module docstring."""

    CSS_PATH = "app.tcss"
    TITLE = "bassi-tui"
    #: Below 100 columns the panes stack (cards above the viewer).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    COMMANDS: ClassVar = App.COMMANDS | {TaskCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run_selected", "Run", id="task.run", tooltip="Run the selected task now"),
        Binding(
            "p",
            "toggle_selected",
            "Pause",
            id="task.pause",
            tooltip="Pause or resume the selected task",
        ),
        Binding(
            "e",
            "edit_selected",
            "Edit",
            id="task.edit",
            tooltip="Edit the task's prompt.txt in $EDITOR",
        ),
        Binding(
            "x",
            "cancel_selected",
            "Cancel",
            id="task.cancel",
            tooltip="Cancel the selected task's run in flight (asks first)",
        ),
        Binding(
            "enter",
            "open_result",
            "Open",
            id="result.open",
            show=False,
            tooltip="Focus the result text",
        ),
        Binding(
            "left_square_bracket",
            "step(1)",
            "Older",
            id="result.older",
            show=False,
            tooltip="Show the previous (older) result",
        ),
        Binding(
            "right_square_bracket",
            "step(-1)",
            "Newer",
            id="result.newer",
            show=False,
            tooltip="Show the next (newer) result",
        ),
        Binding(
            "f",
            "next_file",
            "Files",
            id="result.files",
            show=False,
            tooltip="Show the files the agent wrote in the shown run, one by one",
        ),
        Binding(
            "d",
            "details",
            "Details",
            id="task.details",
            show=False,
            tooltip="Details: full errors, config in effect, next fires, files, changes",
        ),
        Binding(
            "R",
            "rerun",
            "Run again",
            id="result.rerun",
            show=False,
            tooltip="Run the shown run's exact prompt again, as a new run",
        ),
        Binding(
            "o",
            "open_pager",
            "Pager",
            id="result.pager",
            show=False,
            tooltip="Open the shown result in $PAGER",
        ),
        Binding(
            "y",
            "copy_path",
            "Copy path",
            id="result.copy_path",
            show=False,
            tooltip="Copy the shown result's path (OSC 52: works over SSH and in tmux)",
        ),
        Binding(
            "Y",
            "copy_text",
            "Copy text",
            id="result.copy_text",
            show=False,
            tooltip="Copy the shown result's text (OSC 52)",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            id="cards.filter",
            tooltip="Filter the cards by name or status (failed, running, paused)",
        ),
        Binding(
            "s",
            "cycle_order",
            "Sort",
            id="cards.sort",
            show=False,  # the footer is full at 80 columns; the help and the title tell it
            tooltip="Order the cards by name, next run, or last status (failures first)",
        ),
        Binding(
            "escape",
            "escape",
            "Back",
            id="app.escape",
            show=False,
            tooltip="Clear the filter, or go back to the cards",
        ),
        Binding("l", "toggle_log", "Log", id="app.log", tooltip="Show or hide the log pane"),
        Binding(
            "S",
            "stats",
            "Stats",
            id="app.stats",
            show=False,  # the footer is full at 80 columns; the help and the palette tell it
            tooltip="Stats: runs, time, tokens, cost",
        ),
        Binding(
            "question_mark,f1",
            "help",
            "Help",
            id="app.help",
            key_display="?",
            tooltip="Show every key",
        ),
        Binding(
            "q",
            "quit",
            "Quit",
            id="app.quit",
            tooltip="Quit (asks first when runs are in flight: they stop)",
        ),
    ]

    def __init__(
        self,
        tasks_dir: Path,
        *,
        force_polling: bool = False,
        demo: bool = False,
        engine: Engine | None = None,
        clock: Callable[[], datetime] = local_now,
        show_log: bool | None = None,
        lock: InstanceLock | None = None,
        preload: Preload | None = None,
        handle_signals: bool = False,
        look: Look | None = None,
    ) -> None:
        super().__init__()
        #: ASCII only, 16 colours: None guesses from the terminal (a headless app, as in tests,
        #: has none to guess from and draws as for a UTF-8, many-colour one).
        self._look = look
        self._ascii_filter: AsciiFilter | None = None
        #: Stop cleanly on SIGHUP (a dropped SSH connection), SIGTERM and SIGINT (the command
        #: line sets it; tests leave the test runner's handlers alone).
        self.handle_signals = handle_signals
        self._restore_signals: Callable[[], None] | None = None
        #: Set once the app is asked to quit (see while_open).
        self._quit_asked = False
        #: Who schedules while this instance monitors, for the header (see _set_sub_title).
        self._role_note = ""
        self.tasks_dir = tasks_dir
        self.demo = demo
        self.clock = clock
        if engine is None:
            engine = Engine(tasks_dir, force_polling=force_polling, lock=lock, preload=preload)
            engine.subscribe(log_events)  # the story goes to the log file too
        self.engine = engine
        #: The log pane shown or not: True/False once asked (``show_log``, or ``l``: kept over
        #: resizes), None to follow the height (shown from LOG_MIN_HEIGHT rows).
        self._show_log = show_log
        self._live = LiveOutputs()
        self._results_token = 0
        self._unsubscribe: Callable[[], None] | None = None
        #: True while the engine starts: its TaskChanged events are dropped (reloaded after).
        self._starting = False
        self._log_pending: list[LogLine] = []
        #: Runs of the selected task told by events since it was selected (see _take_run).
        self._runs_seen: dict[Path, RunRecord] = {}

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Container(id="main"):
            with Vertical(id="cards-pane"):
                yield Input(placeholder="filter: name or failed, running, paused", id="filter")
                yield TaskList(self.clock, id="cards")
            yield ResultView(self.clock, id="viewer")
        yield LogPane(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self._apply_look()
        self._set_sub_title()
        cards = self.query_one(TaskList)
        self._starting = not self.engine.started
        cards.empty_text = "Loading task folders…" if self._starting else self._no_tasks_text()
        self._update_cards_title()
        self._fit_log()
        self._unsubscribe = self.engine.subscribe(self._on_engine_event)
        if self.handle_signals:
            self._restore_signals = on_stop_signals(self._on_stop_signal)
        self.set_interval(FLUSH_INTERVAL, self._flush_output, name="live-output")
        cards.focus()
        self.run_worker(
            self._start_engine(),
            group="engine",
            description="start the engine",
            exit_on_error=False,
        )

    async def _start_engine(self) -> None:
        if self.engine.started:  # handed one already running: its first events went by
            self._load_cards()
            return
        try:
            await self.engine.start()
        except Exception as exc:  # shown to the user, never a crash
            log.exception("the engine failed to start")
            self.post_message(msg.EngineFailed(f"The engine failed to start: {exc}"))
        finally:
            self._starting = False
        # One card per task, from one snapshot, instead of one message per task.
        self._load_cards()

    def _load_cards(self) -> None:
        cards = self.query_one(TaskList)
        cards.empty_text = self._no_tasks_text()
        cards.upsert_many(self.engine.views())
        cards.refresh()  # no task at all: the loading text still goes
        self._update_cards_title()
        self._set_sub_title()  # the engine has its role now

    def _no_tasks_text(self) -> str:
        return no_tasks_text(short_path(self.tasks_dir))

    def _apply_look(self) -> None:
        """Draw for this terminal: ASCII only without a UTF-8 locale, the terminal's own ANSI
        colours for statuses when it has only 16 (see :class:`~bassi_tui.ui.styles.Look`)."""
        look = self._look
        if look is None:
            look = Look() if self.is_headless else detect_look(self.console.color_system)
        self._look = look
        fmt.use_ascii(look.ascii)
        self._ascii_filter = AsciiFilter() if look.ascii else None
        self.set_class(look.ansi16, "-ansi16")
        if look.ansi16:
            self.ansi_color = True  # ansi_red is the terminal's red, not an RGB brought down

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, and without a UTF-8 locale the one that makes every line ASCII."""
        filters = super().get_line_filters()
        if self._ascii_filter is None:
            return filters
        return [*filters, self._ascii_filter]

    def _fit_log(self, height: int | None = None) -> None:
        """Show the log pane as asked (``show_log``, ``l``), else when the terminal is tall."""
        show = self._show_log
        if show is None:
            show = (height or self.size.height) >= LOG_MIN_HEIGHT
        self.query_one(LogPane).display = show

    def on_resize(self, event: events.Resize) -> None:
        self._fit_log(event.size.height)  # called before App's own handler updates self.size

    @property
    def quitting(self) -> bool:
        """True once the app was asked to quit or is shutting down (see while_open).

        ``exit()`` (q, a signal) asks; Textual's shutdown (also how a test's ``run_test`` ends)
        stops ``is_running`` before it removes the widgets.
        """
        return self._quit_asked or not self.is_running

    @quitting.setter
    def quitting(self, value: bool) -> None:
        self._quit_asked = value

    async def action_quit(self) -> None:
        """Quit (q, ctrl+q); with runs of this instance in flight, ask first and say how many
        (they stop, recorded interrupted). A monitor's runs are the scheduler's: it quits."""
        runs = self.engine.open_runs()
        if not runs:
            self.exit()
        elif not isinstance(self.screen, ConfirmScreen):
            what = "1 run in flight" if runs == 1 else f"{runs} runs in flight"
            question = f"{what} will be recorded as interrupted. Quit?"
            self.push_screen(
                ConfirmScreen(question, title="Quit"), lambda yes: self.exit() if yes else None
            )

    def exit(self, result: None = None, return_code: int = 0, message: Any = None) -> None:
        """Quit (q, a signal); from here a late message updates nothing."""
        self._quit_asked = True
        super().exit(result, return_code, message)

    def _on_stop_signal(self, signum: int) -> None:
        """SIGHUP, SIGTERM or SIGINT: quit as ``q`` does (runs in flight are recorded as
        interrupted by the engine's stop); the exit code says which signal it was.

        SIGHUP (the terminal is gone) in the scheduling instance first starts a detached
        ``--headless`` that takes the schedules over once this one has let go of the lock
        (:mod:`~bassi_tui.scheduler.handover`), unless bassi.yaml says ``handover: false``.
        """
        handed = None
        if signum == signal.SIGHUP and not self._quit_asked:  # once, and not after a `q`
            handed = hand_over(
                self.tasks_dir,
                role=self.engine.role,
                poll=self.engine.force_polling,
                demo=self.demo,
            )
        if handed is not None:
            self.engine.say(handed.level, handed.message)
        else:
            self.engine.say(
                "warning", f"{signal_name(signum)}: quitting, runs in flight are recorded"
            )
        self.exit(return_code=exit_code(signum))

    async def on_unmount(self) -> None:
        fmt.use_ascii(False)  # process-wide: the next app (a test's) starts from the default
        if self._unsubscribe is not None:
            self._unsubscribe()
        try:
            await self.engine.stop()
        finally:
            if self._restore_signals is not None:
                self._restore_signals()

    # -- engine events ------------------------------------------------------------------------

    def _on_engine_event(self, event: EngineEvent) -> None:
        # Called synchronously by the engine on this loop: keep it cheap.
        if self._live.take(event) or (self._starting and isinstance(event, TaskChanged)):
            return
        if isinstance(event, LogLine):
            # Batched: the first line of a batch schedules one hand-over of them all.
            if not self._log_pending:
                self.call_later(self._flush_log)
            self._log_pending.append(event)
        elif (message := msg.to_message(event)) is not None:
            self.post_message(message)

    def _flush_log(self) -> None:
        lines, self._log_pending = self._log_pending, []
        try:
            pane = self.query_one(LogPane)
        except NoMatches:  # the app is closing
            return
        pane.add_many(lines)
        for line in lines:
            if line.alert:
                self.notify(one_line(line.message), title="bassi-tui", severity="error", timeout=10)

    @while_open
    def _flush_output(self) -> None:
        grew = self._live.flush()
        if self.query_one(TaskList).selected in grew:
            self.query_one(ResultView).live_grew()

    @on(msg.TaskUpdated)
    @while_open
    def _on_task_updated(self, message: msg.TaskUpdated) -> None:
        cards = self.query_one(TaskList)
        event = message.event
        if event.view is None:
            cards.remove_task(event.name)
        else:
            cards.upsert(event.view)
            if event.name == cards.selected:
                self.query_one(ResultView).set_broken(not event.view.ok)
        self._update_cards_title()

    @on(msg.RunBegan)
    @while_open
    def _on_run_began(self, message: msg.RunBegan) -> None:
        event = message.event
        self._take_run(event.task, event.record, event.view)

    @on(msg.RunRetried)
    @while_open
    def _on_run_retried(self, message: msg.RunRetried) -> None:
        if message.event.task == self.query_one(TaskList).selected:
            self.query_one(ResultView).live_reset()

    @on(msg.RunEnded)
    @while_open
    def _on_run_ended(self, message: msg.RunEnded) -> None:
        event = message.event
        self._live.end(event.task)
        self._take_run(event.task, event.record, event.view)
        for screen in self.screen_stack:
            if isinstance(screen, StatsScreen):
                screen.run_ended(event.task, event.record)
        if event.task == self.query_one(TaskList).selected:  # fires skipped while it ran
            viewer = self.query_one(ResultView)
            records = with_not_runs(viewer.records, self._not_runs(event.task))
            viewer.show_records(records, self._live.get(event.task))
        record = event.record
        if record.status in FAILURE_STATUSES:
            what = record.status.replace("_", " ")
            detail = f": {one_line(record.error)}" if record.error else ""
            self.notify(
                f"{event.task} {what}{detail}", title="Run failed", severity="error", timeout=8
            )

    @on(msg.RunTold)
    @while_open
    def _on_run_told(self, message: msg.RunTold) -> None:
        event = message.event
        self._take_run(event.task, event.record, event.view)

    def _take_run(self, name: str, record: RunRecord, view: TaskView | None) -> None:
        """A run started or ended: its card, and (selected) its line in the history.

        The run's own event says everything: results/ is not read again. Records that arrive
        while the selected task's history is still being read are kept and merged into it.
        """
        cards = self.query_one(TaskList)
        if view is not None:
            cards.upsert(view)
        if name == cards.selected:
            self._runs_seen[record.meta_file] = record
            self.query_one(ResultView).take_run(record, self._live.get(name))
        self._update_cards_title()

    @on(msg.LogWritten)
    @while_open
    def _on_log_written(self, message: msg.LogWritten) -> None:
        self.query_one(LogPane).add(message.event)

    @on(msg.RoleSwitched)
    def _on_role_switched(self, message: msg.RoleSwitched) -> None:
        event = message.event
        if event.role == "monitor":
            self._set_sub_title(f"monitoring: {event.holder or 'another instance'} schedules")
        else:
            self._set_sub_title()
            if self.engine.started:
                self.notify("The other instance stopped: this one schedules now.", timeout=5)

    def _set_sub_title(self, note: str | None = None) -> None:
        """The header's second line: DEMO, the tasks dir, and this instance's role once the
        engine has one: "scheduling here", or who schedules while this one monitors (``note``,
        kept for later calls)."""
        if note is not None:
            self._role_note = note
        parts = ["DEMO"] if self.demo else []
        parts.append(short_path(self.tasks_dir))
        if self.engine.started and self.engine.role == "scheduler":
            parts.append("scheduling here")
        elif self.engine.started or self._role_note:
            parts.append(self._role_note or "monitoring")
        self.sub_title = " · ".join(parts)

    @on(msg.EngineFailed)
    def _on_engine_failed(self, message: msg.EngineFailed) -> None:
        self.notify(message.error, title="Engine", severity="error", timeout=10)

    # -- selection and results ----------------------------------------------------------------

    @on(TaskList.Selected)
    @while_open
    def _on_selected(self, message: TaskList.Selected) -> None:
        self._runs_seen = {}
        viewer = self.query_one(ResultView)
        viewer.show_task(message.name)
        view = self.query_one(TaskList).view(message.name) if message.name else None
        viewer.set_broken(view is not None and not view.ok)
        if message.name is not None:
            self._load_results(message.name)

    def _load_results(self, name: str) -> None:
        self._results_token += 1
        self.run_worker(
            partial(self._read_results, name, self._results_token),
            thread=True,
            group="results",
            description=f"read the runs of {name}",
            exit_on_error=False,
        )

    def _read_results(self, name: str, token: int) -> None:
        try:
            records = self.engine.results(name)
        except Exception:  # an unreadable folder shows as no runs; the log file has why
            log.exception("reading the results of %s failed", name)
            records = []
        if token == self._results_token:
            self.post_message(msg.ResultsLoaded(name, records))

    @on(msg.ResultsLoaded)
    @while_open
    def _on_results_loaded(self, message: msg.ResultsLoaded) -> None:
        viewer = self.query_one(ResultView)
        if message.task == viewer.task_name == self.query_one(TaskList).selected:
            records = merge_runs(message.records, self._runs_seen.values())
            records = with_not_runs(records, self._not_runs(message.task))
            viewer.show_records(records, self._live.get(message.task))

    def _not_runs(self, name: str) -> list[RunRecord]:
        """The skipped and missed fires of ``name``: only last_run.json's history has them."""
        task = self.engine.task(name)
        if task is None:
            return []
        return not_run_records(name, task.path, self.engine.state(name).history)

    def _update_cards_title(self) -> None:
        cards = self.query_one(TaskList)
        total, shown = len(cards.names), len(cards.shown)
        if self._starting and not total:
            count = "loading…"
        else:
            count = f"{shown:,} of {total:,}" if shown != total else f"{total:,}"
        sep = fmt.glyphs().separator
        order = f"{sep}{ORDER_TITLES[cards.order]}" if cards.order != "name" else ""
        self.query_one("#cards-pane").border_title = Content(f"Tasks{sep}{count}{order}")

    # -- keys ---------------------------------------------------------------------------------

    def action_open_result(self) -> None:
        """Focus the result text."""
        self.query_one(ResultView).focus_text()

    def action_next_file(self) -> None:
        """Show the next file the agent wrote in the shown run (then the output again)."""
        if self.query_one(ResultView).next_file() is None:
            self.notify("This run wrote no files.", timeout=3)

    def action_step(self, delta: int) -> None:
        """Older (+1) or newer (-1) result."""
        self.query_one(ResultView).step(delta)

    def action_filter(self) -> None:
        """Show the filter box and type into it."""
        box = self.query_one("#filter", Input)
        box.add_class("-active")
        box.focus()

    @on(Input.Changed, "#filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        self.query_one(TaskList).set_filter(event.value.strip())
        self._update_cards_title()

    @on(Input.Submitted, "#filter")
    def _on_filter_submitted(self) -> None:
        self.query_one(TaskList).focus()

    def action_escape(self) -> None:
        """Clear the filter, or go back to the cards."""
        box = self.query_one("#filter", Input)
        if box.has_class("-active"):
            box.value = ""
            box.remove_class("-active")
            self.query_one(TaskList).set_filter("")
            self._update_cards_title()
        self.query_one(TaskList).focus()

    def action_toggle_log(self) -> None:
        """Show or hide the log pane, at any size; kept so over resizes."""
        pane = self.query_one(LogPane)
        pane.display = self._show_log = not pane.display

    def action_cycle_order(self) -> None:
        """Order the cards by name, next run, or last status (failures first)."""
        self.query_one(TaskList).cycle_order()
        self._update_cards_title()

    def action_help(self) -> None:
        """Show every key."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_sections(self.BINDINGS)))

    def action_stats(self) -> None:
        """Show the stats of the selected task (``a`` there switches to all tasks)."""
        if not isinstance(self.screen, StatsScreen):
            selected = self.query_one(TaskList).selected
            self.push_screen(StatsScreen(self.engine, self.clock, selected))

    def get_system_commands(self, screen: Screen[object]) -> list[SystemCommand]:
        """Textual's own palette commands plus help and the stats."""
        commands = list(super().get_system_commands(screen))
        commands.append(SystemCommand("Help", "Show every key", self.action_help))
        commands.append(
            SystemCommand(
                "Stats", "Runs, failures, durations, tokens and cost per day", self.action_stats
            )
        )
        return commands
