"""ConfirmScreen: a one-line yes/no question over the app, for what cannot be taken back.

``x`` (cancel a run in flight) and ``q`` with runs in flight ask here first. ``y`` or Enter
confirms, ``n`` or Esc keeps things as they are; the screen dismisses with True or False, for
the caller's callback. The question is inert text (task names come from folder names).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask ``question`` (``y/n`` is added); dismissed with True (y, Enter) or False (n, Esc)."""

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        & > #confirm-box {
            width: auto;
            max-width: 90%;
            min-width: 30;
            height: auto;
            border: round $warning;
            border-title-align: center;
            border-subtitle-align: center;
            background: $surface;
            padding: 1 2;
        }
        & #confirm-question { width: auto; max-width: 100%; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Keep it as it is"),
    ]

    def __init__(self, question: str, *, title: str = "Confirm") -> None:
        super().__init__()
        self.question = question
        self.heading = title

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box") as box:
            box.border_title = Content(self.heading)
            box.border_subtitle = Content.assemble(
                ("y", "bold"), "/", ("Enter", "bold"), " yes · ", ("n", "bold"), "/",
                ("Esc", "bold"), " no",
            )  # fmt: skip
            yield Static(Content(f"{self.question} y/n"), id="confirm-question")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)
