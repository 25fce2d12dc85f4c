"""What a task card says: a TaskView turned into three lines of (text, tone) pieces.

Pure functions, so cards are tested without a screen. A tone is a colour family (success, error,
warning, running, muted, name, plain) that the task list maps to theme styles; every status also
has a symbol and a word, so colour is never the only signal.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime

from bassi_tui.scheduler.events import TaskView
from bassi_tui.ui import format as fmt
from bassi_tui.ui.sanitize import one_line

Piece = tuple[str, str]  # (text, tone)
CARD_LINES = 3


@dataclass(frozen=True, slots=True)
class CardLine:
    """One line of a card: pieces on the left, pieces pushed to the right edge."""

    left: tuple[Piece, ...]
    right: tuple[Piece, ...] = ()


def card_state(view: TaskView) -> str:
    """The one word that sums a card up: running, broken, disabled, or the last status."""
    if view.running_since is not None:
        return "running"
    if not view.ok:
        return "broken"
    if not view.enabled:
        return "disabled"
    return view.last_status or "never"


def _head(view: TaskView, now: datetime) -> CardLine:
    state = card_state(view)
    left = ((fmt.status_symbol(state) + " ", fmt.status_tone(state)), (one_line(view.name), "name"))
    if state == "running":
        assert view.running_since is not None
        took = fmt.elapsed((now - view.running_since).total_seconds())
        return CardLine(left, (("running " + took, "running"),))
    if state == "broken":
        return CardLine(left, (("broken", "error"),))
    if state == "disabled":
        return CardLine(left, (("paused", "muted"),))
    if view.next_run is None:
        return CardLine(left, (("nothing due", "muted"),))
    when = fmt.clock(view.next_run, now)
    return CardLine(left, ((fmt.countdown(view.next_run, now), "plain"), (f" · {when}", "muted")))


def _problem_lines(view: TaskView, width: int) -> tuple[CardLine, CardLine]:
    text = "; ".join(f"{p.location()}: {one_line(p.message)}" for p in view.problems)
    lines = textwrap.wrap(text, max(8, width - 2), max_lines=2, placeholder=" …") or [""]
    second = lines[1] if len(lines) > 1 else ""
    return CardLine((("  " + lines[0], "error"),)), CardLine((("  " + second, "error"),))


def _last_line(view: TaskView, now: datetime) -> CardLine:
    if view.last_run is None or view.last_status is None:
        return CardLine((("  never run", "muted"),))
    status = view.last_status
    pieces: list[Piece] = [
        ("  last ", "muted"),
        (f"{fmt.status_symbol(status)} {status}", fmt.status_tone(status)),
        (f" {fmt.ago(view.last_run, now)}", "muted"),
    ]
    if view.last_error and status != "success":
        pieces.append((f" · {one_line(view.last_error)}", "error"))
    runs = f"{view.run_count} run" + ("" if view.run_count == 1 else "s")
    rate = fmt.rate(view.success_count, view.failure_count)
    return CardLine(tuple(pieces), ((runs + (f" · {rate}" if rate else ""), "muted"),))


def card_lines(view: TaskView, now: datetime, width: int) -> tuple[CardLine, CardLine, CardLine]:
    """The three lines of ``view``'s card at ``now`` for a card ``width`` cells wide."""
    head = _head(view, now)
    if not view.ok:
        first, second = _problem_lines(view, width)
        return head, first, second
    about: list[Piece] = [("  " + one_line(view.description), "muted")]
    if view.note:
        about.append((f" · {one_line(view.note)}", "warning"))
    if view.notify_error:
        about.append((f" · notify failed: {one_line(view.notify_error)}", "error"))
    return head, CardLine(tuple(about)), _last_line(view, now)
