"""The details of one task (``d``): full errors, the config in effect, the next fires, the
workdir's files, and what changed in the shown run's output since the previous success.

The facts come from the engine (:meth:`~bassi_tui.scheduler.engine.Engine.details`) and the diff
from :func:`~bassi_tui.notify.changes.diff_files`, both gathered in a thread worker; the screen
only draws them, inert, and closes with Esc, q or d.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from bassi_tui.scheduler.details import TaskDetails
from bassi_tui.store.records import RunRecord
from bassi_tui.ui import format as fmt
from bassi_tui.ui.diff_text import tone_of
from bassi_tui.ui.sanitize import one_line, strip_control

__all__ = ["DIFF_LINES_SHOWN", "DetailsScreen"]

#: Lines of the diff the details show (the rest are counted).
DIFF_LINES_SHOWN = 400

_TONES = {"added": "$text-success", "removed": "$text-error", "hunk": "bold $text-accent"}


def _heading(text: str) -> Content:
    return Content.styled(text, "bold $text-accent")


def _when(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M:%S} {moment.tzname() or ''}".rstrip()


def _section_schedule(details: TaskDetails) -> Content:
    parts: list[str | tuple[str, str]] = [one_line(details.schedule), "\n"]
    for number, moment in enumerate(details.next_fires):
        parts.append(("next  " if number == 0 else "      ", "$text-muted"))
        parts.append(_when(moment) + "\n")
    if details.fires_note:
        parts.append((details.fires_note, "$text-warning"))
    return Content.assemble(*parts).rstrip()


def _section_errors(details: TaskDetails) -> Content | None:
    lines = [*details.problems]
    if details.last_error:
        lines.append(f"last run: {details.last_error}")
    if not lines:
        return None
    return Content.styled("\n".join(strip_control(line) for line in lines), "$text-error")


def _section_config(details: TaskDetails) -> Content:
    width = max((len(key) for key, _ in details.config), default=0)
    parts: list[str | tuple[str, str]] = []
    for key, value in details.config:
        parts.append((f"{key:<{width}}  ", "$text-muted"))
        parts.append(strip_control(value) + "\n")
    return Content.assemble(*parts).rstrip()


def _section_files(details: TaskDetails) -> Content | None:
    if details.workdir is None:
        return None
    parts: list[str | tuple[str, str]] = [
        (strip_control(fmt.short_path(details.workdir)), "$text-muted")
    ]
    if not details.files:
        parts.append(("\n(empty)", "$text-muted"))
    for path, size in details.files:
        parts.append(f"\n{strip_control(path)}  ")
        parts.append((fmt.size(size), "$text-muted"))
    if details.more_files:
        parts.append((f"\n… and {details.more_files:,} more", "$text-muted"))
    return Content.assemble(*parts)


def _section_diff(shown: RunRecord | None, diff: list[str] | str | None) -> Content:
    if shown is None:
        return Content.styled("No run yet.", "$text-muted")
    if diff is None:
        return Content.styled("No earlier successful run to compare with.", "$text-muted")
    if isinstance(diff, str):
        return Content.styled(diff, "$text-muted")
    parts: list[str | tuple[str, str]] = []
    for line in diff[:DIFF_LINES_SHOWN]:
        tone = tone_of(line)
        parts.append((line + "\n", _TONES[tone]) if tone else line + "\n")
    if len(diff) > DIFF_LINES_SHOWN:
        parts.append((f"… {len(diff) - DIFF_LINES_SHOWN:,} more lines", "$text-muted"))
    return Content.assemble(*parts).rstrip()


class DetailsScreen(ModalScreen[None]):
    """One task in full, over the main screen."""

    DEFAULT_CSS = """
    DetailsScreen {
        align: center middle;
        & > VerticalScroll {
            width: 90%;
            height: 90%;
            border: round $primary;
            border-title-style: bold;
            background: $surface;
            padding: 0 1;
        }
        & .details-heading { margin-top: 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,d", "dismiss", "Close", id="details.close"),
        Binding("j,down", "scroll('down')", "Down", show=False, id="details.down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="details.up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="details.top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="details.bottom"),
    ]

    def __init__(
        self, details: TaskDetails, shown: RunRecord | None, diff: list[str] | str | None
    ) -> None:
        super().__init__()
        self.details = details
        self.shown = shown
        self.diff = diff

    def compose(self) -> ComposeResult:
        details = self.details
        with VerticalScroll(id="details") as box:
            box.border_title = Content(f"Details · {one_line(details.name)}")
            box.border_subtitle = Content("Esc closes")
            yield Static(Content.styled(strip_control(fmt.short_path(details.path)), "$text-muted"))
            sections: list[tuple[str, Content | None]] = [
                ("Schedule", _section_schedule(details)),
                ("Errors", _section_errors(details)),
                ("Config in effect", _section_config(details)),
                ("Workdir files", _section_files(details)),
            ]
            stem = f" ({self.shown.stem})" if self.shown is not None else ""
            sections.append(
                (f"Changes in the shown run{stem}", _section_diff(self.shown, self.diff))
            )
            for title, body in sections:
                if body is not None:
                    yield Static(_heading(title), classes="details-heading")
                    yield Static(body, markup=False)

    def action_scroll(self, where: str) -> None:
        """Scroll the details (j/k, g/G)."""
        box = self.query_one("#details", VerticalScroll)
        if where == "down":
            box.scroll_down(animate=False)
        elif where == "up":
            box.scroll_up(animate=False)
        elif where == "home":
            box.scroll_home(animate=False)
        else:
            box.scroll_end(animate=False)

    async def action_dismiss(self, result: None = None) -> None:
        """Close the details."""
        self.dismiss(result)
