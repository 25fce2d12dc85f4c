"""HelpScreen: every key, grouped by where it works (built from the real bindings), and symbols."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.format import status_symbol as symbol_of
from bassi_tui.ui.run_history import RunHistory
from bassi_tui.ui.task_list import TaskList

KEY_NAMES = {
    "up": "↑",
    "down": "↓",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "enter": "Enter",
    "escape": "Esc",
    "tab": "Tab",
    "shift+tab": "Shift+Tab",
    "question_mark": "?",
    "slash": "/",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "f1": "F1",
    "ctrl+p": "Ctrl+P",
    "ctrl+c": "Ctrl+C",
}

Section = tuple[str, list[tuple[str, str]]]


def key_label(keys: str) -> str:
    """``up,k`` → ``↑ k``: the keys of a binding as a person reads them."""
    return " ".join(KEY_NAMES.get(key.strip(), key.strip()) for key in keys.split(","))


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, description) for every Binding with a description."""
    rows = []
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            rows.append((key_label(binding.key), binding.tooltip or binding.description))
    return rows


def help_content(sections: Sequence[Section]) -> Content:
    """The help text: a heading per section, then aligned key and description columns."""
    width = max((len(keys) for _, rows in sections for keys, _ in rows), default=4) + 2
    parts: list[str | tuple[str, str]] = []
    for number, (title, rows) in enumerate(sections):
        parts.append((("\n" if number else "") + title + "\n", "bold $text-accent"))
        for keys, description in rows:
            parts.extend(((f"  {keys:<{width}}", "bold"), f"{description}\n"))
    return Content.assemble(*parts).rstrip()


SYMBOL_MEANINGS = {
    "success": "the last run succeeded",
    "failed": "the last run failed",
    "timeout": "the last run hit its timeout",
    "check_failed": "the last run's output failed its expect checks",
    "interrupted": "the last run was cut short (app stopped)",
    "cancelled": "the last run was cancelled by a person (x)",
    "skipped": "a fire was skipped (a run still going, a condition, a budget)",
    "missed": "a fire was missed while no bassi-tui was scheduling",
    "lost": "a run whose worker went silent: how it ended is unknown",
    "running": "running now (with the time it has taken)",
    "disabled": "paused (enabled: false)",
    "broken": "broken: the error is on the card",
    "never": "never run",
}


def help_sections(app_bindings: Iterable[BindingType]) -> list[Section]:
    """The keys, grouped by where they work (from the real bindings), and the card symbols."""
    return [
        (
            "Anywhere",
            [
                *binding_rows(app_bindings),
                ("Tab", "Next pane"),
                ("Ctrl+P", "Palette: run, pause, edit any task"),
            ],
        ),
        (
            "Symbols",
            [(symbol_of(status), meaning) for status, meaning in SYMBOL_MEANINGS.items()]
            + [
                ("▌ ▶", "the selected card, the selected run"),
                ("✓✓✗↷", "a card's strip: the last runs, oldest to newest"),
            ],
        ),
        ("Task cards", binding_rows(TaskList.BINDINGS)),
        ("Run history", binding_rows(RunHistory.BINDINGS)),
        (
            "Result text",
            [
                *binding_rows(BigText.BINDINGS),
                ("↑ ↓ PgUp PgDn", "Scroll"),
                ("← →", "Scroll sideways"),
            ],
        ),
    ]


class HelpScreen(ModalScreen[None]):
    """The keys and symbols, over the app, in two columns when there is room.

    Esc, q, ? or F1 closes it.
    """

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > #help-box {
            width: 110;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: round $primary;
            border-title-align: center;
            background: $surface;
            padding: 0 1;
        }
        & #help-scroll { height: auto; max-height: 100%; }
        & #help-columns { layout: horizontal; height: auto; }
        & .help-column { width: 1fr; height: auto; padding-right: 2; }
        &.-narrow #help-columns { layout: vertical; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(self, sections: Sequence[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        half = 2  # Anywhere and Symbols on the left, the panes' keys on the right
        with Vertical(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "Esc closes"
            with VerticalScroll(id="help-scroll"), Horizontal(id="help-columns"):
                yield Static(help_content(self.sections[:half]), classes="help-column")
                yield Static(help_content(self.sections[half:]), classes="help-column")

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "-narrow")
