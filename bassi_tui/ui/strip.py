"""A card's status strip and month's cost: pieces of (text, tone), as the card draws them.

The strip is a task's last runs as one-cell marks, oldest on the left and newest on the right:
each the status's own symbol (``✓`` success, ``✗`` failed, ``⏱`` timeout, ``↷`` skipped, ``⊘``
missed...; ``+ x ~ > -`` in ASCII) in the status's tone, so a failure reads apart from a skip
without colour, and the help screen's legend explains every mark. Skipped and missed fires are
in it too: a task that a budget or a condition holds back shows a row of skips.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len

from bassi_tui.scheduler.events import TaskView
from bassi_tui.ui import format as fmt

Piece = tuple[str, str]  # (text, tone), as in card.py
#: Marks in a strip: the newest runs, as many as fit a card at 80 columns beside the rest.
STRIP_RUNS = 10


def strip_pieces(recent: Sequence[str], limit: int = STRIP_RUNS) -> tuple[Piece, ...]:
    """The newest ``limit`` statuses of ``recent`` (newest first, as a TaskView has them) as
    marks from oldest to newest; neighbours of one tone share a piece."""
    pieces: list[Piece] = []
    for status in reversed(recent[:limit]):
        mark, tone = fmt.status_symbol(status), fmt.status_tone(status)
        if pieces and pieces[-1][1] == tone:
            pieces[-1] = (pieces[-1][0] + mark, tone)
        else:
            pieces.append((mark, tone))
    return tuple(pieces)


def month_cost(view: TaskView) -> Piece | None:
    """``$1.23/mo``: what the task's runs cost this month; warning-toned while a budget stops
    it. None when nothing was recorded this month."""
    if view.month_cost_usd is None:
        return None
    tone = "warning" if view.budget_note else "muted"
    return (f"{fmt.cents(view.month_cost_usd)}/mo", tone)


def history_sides(view: TaskView) -> list[tuple[Piece, ...]]:
    """What a card can show of the task's recent history, most first: the strip and the
    month's cost, the strip alone, nothing. Pieces after the first start with a space."""
    strip = strip_pieces(view.recent)
    cost = month_cost(view)
    sides: list[tuple[Piece, ...]] = []
    if strip and cost:
        sides.append((*strip, (" " + cost[0], cost[1])))
    if strip:
        sides.append(strip)
    elif cost:
        sides.append((cost,))
    sides.append(())
    return sides


def width_of(pieces: Sequence[Piece]) -> int:
    """Cells ``pieces`` take."""
    return sum(cell_len(text) for text, _ in pieces)
