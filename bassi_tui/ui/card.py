"""What a task card says: a TaskView turned into lines of (text, tone) pieces.

Pure functions, so cards are tested without a screen. A tone is a colour family (success, error,
warning, running, muted, name, plain) that the task list maps to theme styles; every status also
has a symbol and a word, so colour is never the only signal.

A card is three lines (name and next run; schedule and notes, with the status strip of the last
runs and the month's cost on the right; last run), or two when compact (name and next run; what
is wrong, else the schedule, and on the right the strip, the cost and the last run). The strip
and the cost give way first when a line is short: what is wrong keeps ``KEEP_NOTES`` cells, a
schedule ``KEEP_DESCRIPTION`` (see :mod:`bassi_tui.ui.strip`). :func:`fit_line` lays a line out
in a width: whatever is cut ends in the ellipsis, on the left or the right.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size

from bassi_tui.notify.policy import FAILURE_STATUSES
from bassi_tui.scheduler.events import TaskView
from bassi_tui.store.models import TaskProblem
from bassi_tui.ui import format as fmt
from bassi_tui.ui.sanitize import one_line
from bassi_tui.ui.strip import history_sides, width_of

Piece = tuple[str, str]  # (text, tone)
CARD_LINES = 3
COMPACT_LINES = 2
#: A left side is cut no shorter than this (cells) to keep a right side whole.
MIN_LEFT = 12
#: Cells a line's left side keeps before the strip and the cost give way: notes (what is wrong)
#: and a schedule's description.
KEEP_NOTES = 30
KEEP_DESCRIPTION = 16


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


def status_words(view: TaskView) -> set[str]:
    """Every word the card filter finds ``view`` by, besides its name.

    The card's own state (``running``, ``broken``, ``paused``, ``never``), the last run's status
    (``timeout``, ``check_failed``...) and ``failed`` for any failure: a task that is running
    again after a failure is still found by ``failed``.
    """
    words = {card_state(view)}
    if view.budget_note:
        words.add("budget")
    if view.ok and not view.enabled:  # a broken task is never enabled, but not paused either
        words |= {"paused", "disabled"}
    if view.last_status:
        words.add(view.last_status)
        if view.last_status in FAILURE_STATUSES:
            words.add("failed")
    elif view.ok:
        words.add("never")
    return words


def failure_rank(view: TaskView) -> int:
    """Where ``view`` goes when failures come first: broken and failed (0), other endings that
    are not a success (1), success (2), never run (3)."""
    if not view.ok or view.last_status in FAILURE_STATUSES:
        return 0
    if view.last_status is None:
        return 3
    return 2 if view.last_status == "success" else 1


def is_missing(problem: TaskProblem) -> bool:
    """True for "the file is not there" (the store says ``<file> is missing; ...``)."""
    return problem.line is None and problem.message.startswith(f"{problem.file} is missing")


def problem_text(view: TaskView) -> str:
    """A broken task's problems on one line; missing files first, named plainly.

    An empty folder says ``missing schedule.yaml and prompt.txt``: short, so it is never cut.
    """
    missing = [p for p in view.problems if is_missing(p)]
    parts = []
    if missing:
        # What the store adds in parentheses stays (a template that has none either).
        asides = dict.fromkeys(
            "(" + p.message.rsplit(" (", 1)[1] for p in missing if p.message.endswith(")")
        )
        files = " and ".join(one_line(p.file) for p in missing)
        parts.append(" ".join([f"missing {files}", *map(one_line, asides)]))
    parts += [f"{p.location()}: {one_line(p.message)}" for p in view.problems if not is_missing(p)]
    return "; ".join(parts)


def _head(view: TaskView, now: datetime) -> CardLine:
    state = card_state(view)
    left = ((fmt.status_symbol(state) + " ", fmt.status_tone(state)), (one_line(view.name), "name"))
    if state == "running":
        assert view.running_since is not None
        took = fmt.elapsed((now - view.running_since).total_seconds())
        return CardLine(left, (("running " + took, "running"),))
    if state == "broken":
        return CardLine(left, (("broken", "error"),))
    if view.waiting_since is not None:  # due, but bassi.yaml's max_concurrent holds it back
        waited = fmt.elapsed((now - view.waiting_since).total_seconds())
        return CardLine(left, (("waiting " + waited, "warning"),))
    if state == "disabled":
        return CardLine(left, (("paused", "muted"),))
    if view.next_run is None:
        return CardLine(left, (("nothing due", "muted"),))
    when = fmt.clock(view.next_run, now)
    sep = fmt.glyphs().separator
    return CardLine(left, ((fmt.countdown(view.next_run, now), "plain"), (sep + when, "muted")))


def _problem_lines(view: TaskView, width: int, count: int) -> tuple[CardLine, ...]:
    text = problem_text(view)
    room = max(8, width - 2)
    if count == 1:
        lines = [fmt.cut(text, room)]
    else:
        mark = " " + fmt.glyphs().ellipsis
        lines = textwrap.wrap(text, room, max_lines=count, placeholder=mark) or [""]
    lines += [""] * (count - len(lines))
    return tuple(CardLine((("  " + line, "error"),)) for line in lines)


def _notes(view: TaskView, *, with_error: bool) -> list[Piece]:
    """What needs doing or knowing: a budget that stops the fires (with its figures), the
    schedule's note (a missing key, a once task that will not run), a notification that
    failed, and (``with_error``) why the last run failed."""
    notes: list[Piece] = []
    if view.budget_note:
        notes.append((one_line(view.budget_note), "warning"))
    if view.note:
        notes.append((one_line(view.note), "warning"))
    if view.notify_error:
        notes.append((f"notify failed: {one_line(view.notify_error)}", "error"))
    if with_error and view.last_error and view.last_status != "success":
        notes.append((one_line(view.last_error), "error"))
    return notes


def _joined(pieces: list[Piece]) -> list[Piece]:
    sep = fmt.glyphs().separator
    return [(sep + text if i else text, tone) for i, (text, tone) in enumerate(pieces)]


def _beside(
    left: tuple[Piece, ...], rights: Sequence[tuple[Piece, ...]], width: int, keep: int
) -> CardLine:
    """``left`` with the first of ``rights`` that leaves it its whole width or ``keep`` cells."""
    need = min(width_of(left), keep)
    for right in rights:
        if need + 1 + width_of(right) <= width:
            return CardLine(left, right)
    return CardLine(left, rights[-1])


def _about(view: TaskView, width: int) -> CardLine:
    """The schedule, then the notes; the strip and the month's cost on the right.

    The notes say what needs doing, and are kept whole: the schedule goes first (the head
    line's next run says when anyway), then the cost, then the strip.
    """
    notes = _joined(_notes(view, with_error=False))
    description = one_line(view.description)
    history = history_sides(view)
    if not notes:
        return _beside((("  " + description, "muted"),), history, width, KEEP_DESCRIPTION)
    sep = fmt.glyphs().separator
    first_text, first_tone = notes[0]
    alone = (("  " + first_text, first_tone), *notes[1:])
    both = (("  " + description + sep, "muted"), *notes)
    for right in history:
        for left in (both, alone):
            if width_of(left) + (1 + width_of(right) if right else 0) <= width:
                return CardLine(left, right)
    return CardLine(alone)


def _last(view: TaskView, now: datetime) -> tuple[Piece, ...]:
    if view.last_run is None or view.last_status is None:
        return (("never run", "muted"),)
    status = view.last_status
    word = (f"{fmt.status_symbol(status)} {status}", fmt.status_tone(status))
    return (word, (f" {fmt.ago(view.last_run, now)}", "muted"))


def _last_line(view: TaskView, now: datetime) -> CardLine:
    if view.last_run is None or view.last_status is None:
        return CardLine((("  never run", "muted"),))
    pieces: list[Piece] = [("  last ", "muted"), *_last(view, now)]
    if view.last_error and view.last_status != "success":
        pieces.append((f"{fmt.glyphs().separator}{one_line(view.last_error)}", "error"))
    runs = f"{view.run_count} run" + ("" if view.run_count == 1 else "s")
    rate = fmt.rate(view.success_count, view.failure_count)
    sep = fmt.glyphs().separator
    return CardLine(tuple(pieces), ((runs + (f"{sep}{rate}" if rate else ""), "muted"),))


def _compact_second(view: TaskView, now: datetime, width: int) -> CardLine:
    """What is wrong (else the schedule) on the left; the strip, the month's cost and the last
    run on the right, the strip and the cost only while the left keeps its room."""
    if not view.ok:
        return _problem_lines(view, width, 1)[0]
    notes = _notes(view, with_error=True)
    left = _joined(notes) if notes else [(one_line(view.description), "muted")]
    first_text, first_tone = left[0]
    last = _last(view, now)
    sep = (fmt.glyphs().separator, "muted")
    rights = [(*side, sep, *last) if side else last for side in history_sides(view)]
    keep = KEEP_NOTES if notes else KEEP_DESCRIPTION
    return _beside((("  " + first_text, first_tone), *left[1:]), rights, width, keep)


def card_lines(
    view: TaskView, now: datetime, width: int, *, compact: bool = False
) -> tuple[CardLine, ...]:
    """The lines of ``view``'s card at ``now`` for a card ``width`` cells wide: three, or two
    when ``compact``."""
    head = _head(view, now)
    if compact:
        return head, _compact_second(view, now, width)
    if not view.ok:
        return (head, *_problem_lines(view, width, 2))
    return head, _about(view, width), _last_line(view, now)


def _cut_pieces(pieces: tuple[Piece, ...], room: int) -> list[Piece]:
    """``pieces`` in at most ``room`` cells; the piece cut ends in the ellipsis, in its tone."""
    if sum(cell_len(text) for text, _ in pieces) <= room:
        return list(pieces)
    mark = fmt.glyphs().ellipsis
    keep = room - cell_len(mark)
    out: list[Piece] = []
    used = 0
    for text, tone in pieces:
        width = cell_len(text)
        if used + width <= keep:
            out.append((text, tone))
            used += width
            continue
        # set_cell_size pads where it splits a wide character: that pad goes, as do spaces.
        kept = set_cell_size(text, keep - used).rstrip(" ") if keep > used else ""
        out.append((kept + mark if keep >= 0 else mark[:room], tone))
        break
    return out


def fit_line(line: CardLine, width: int) -> list[Piece]:
    """``line`` laid out in exactly ``width`` cells: left, a gap, right.

    The right side is kept whole while the left still gets ``MIN_LEFT`` cells (or all it needs);
    any side that does not fit is cut, and ends in the ellipsis.
    """
    left_width = sum(cell_len(text) for text, _ in line.left)
    right_width = sum(cell_len(text) for text, _ in line.right)
    if not line.right:
        left = _cut_pieces(line.left, width)
        used = sum(cell_len(text) for text, _ in left)
        return [*left, (" " * (width - used), "plain")] if used < width else left
    if left_width + 1 + right_width <= width:
        gap = width - left_width - right_width
        return [*line.left, (" " * gap, "plain"), *line.right]
    # Something is cut: the left keeps MIN_LEFT cells (or all it needs), and the right at
    # least its ellipsis, so a cut right side never just vanishes at the edge.
    mark = cell_len(fmt.glyphs().ellipsis)
    left_room = max(min(left_width, MIN_LEFT), width - right_width - 1)
    left_room = min(left_room, width - 1 - mark)
    if left_room < 1:  # too narrow for two sides
        return fit_line(CardLine(line.left), width)
    right = _cut_pieces(line.right, width - left_room - 1)
    left = _cut_pieces(line.left, left_room)
    used = sum(cell_len(text) for text, _ in (*left, *right))
    return [*left, (" " * (width - used), "plain"), *right]
