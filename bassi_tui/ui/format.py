"""Small pure formatters for times, durations, counts and statuses shown in the UI.

Every character that is not ASCII comes from :func:`glyphs`: a terminal without a UTF-8 locale
(``LANG=C`` over SSH) gets the ASCII set instead (the app calls :func:`use_ascii` once, at start;
the locale is a property of the whole process, so the choice is too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.cells import cell_len, set_cell_size

#: A symbol for every status: colour is never the only signal.
STATUS_SYMBOLS: dict[str, str] = {
    "success": "✓",
    "failed": "✗",
    "timeout": "⏱",
    "check_failed": "≠",
    "interrupted": "⚠",
    "cancelled": "⊗",
    "skipped": "↷",
    "missed": "⊘",
    "lost": "◌",
    "running": "●",
    "disabled": "⏸",
    "broken": "✖",
    "never": "○",
}
#: The same symbols in ASCII, still one per status (no two alike).
ASCII_SYMBOLS: dict[str, str] = {
    "success": "+",
    "failed": "x",
    "timeout": "~",
    "check_failed": "#",
    "interrupted": "!",
    "cancelled": "/",
    "skipped": ">",
    "missed": "-",
    "lost": "?",
    "running": "*",
    "disabled": "=",
    "broken": "X",
    "never": "o",
}
#: The theme colour family of each status (component class suffixes of the widgets).
STATUS_TONES: dict[str, str] = {
    "success": "success",
    "failed": "error",
    "timeout": "warning",
    "check_failed": "error",
    "interrupted": "warning",
    "cancelled": "muted",
    "skipped": "muted",
    "missed": "warning",
    "lost": "warning",
    "running": "running",
    "disabled": "muted",
    "broken": "error",
    "never": "muted",
}


@dataclass(frozen=True, slots=True)
class Glyphs:
    """The characters the UI draws beyond plain words, in one character set."""

    symbols: Mapping[str, str]
    #: Ends text that was cut.
    ellipsis: str
    #: Between two facts on one line.
    separator: str
    #: ``120→450 tok``.
    arrow: str
    #: Stands for an unknown value.
    dash: str
    #: The bar left of a card: the selected card's, and the others'.
    bar_selected: str
    bar: str
    #: The selected card's bar below its first line (ASCII marks only the first line).
    bar_selected_rest: str
    #: Marks the selected run in the history.
    pointer: str
    #: Quote a person's text: “text”.
    quotes: tuple[str, str]


UNICODE = Glyphs(
    symbols=STATUS_SYMBOLS,
    ellipsis="…",
    separator=" · ",
    arrow="→",
    dash="—",
    bar_selected="▌",
    bar="▏",
    bar_selected_rest="▌",
    pointer="▶",
    quotes=("“", "”"),
)
ASCII = Glyphs(
    symbols=ASCII_SYMBOLS,
    ellipsis="...",
    separator=" | ",
    arrow="->",
    dash="-",
    bar_selected=">",
    bar=" ",
    bar_selected_rest=" ",
    pointer=">",
    quotes=('"', '"'),
)
_current = [UNICODE]


def glyphs() -> Glyphs:
    """The character set in use (UTF-8 unless :func:`use_ascii` said otherwise)."""
    return _current[0]


def use_ascii(on: bool) -> None:
    """Draw with ASCII only (True) or with UTF-8 symbols (False) from now on."""
    _current[0] = ASCII if on else UNICODE


def status_symbol(status: str | None) -> str:
    """The symbol of a status; ``?`` for one this UI does not know."""
    return glyphs().symbols.get(status or "never", "?")


def status_tone(status: str | None) -> str:
    """success, error, warning, running or muted."""
    return STATUS_TONES.get(status or "never", "muted")


def span(seconds: float) -> str:
    """A compact span: ``45s``, ``4m 10s``, ``3h 05m``, ``2d 03h``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def countdown(when: datetime, now: datetime) -> str:
    """``in 4m 10s``, or ``due now`` when the moment has come."""
    seconds = (when - now).total_seconds()
    return "due now" if seconds < 1 else f"in {span(seconds)}"


def ago(when: datetime, now: datetime) -> str:
    """``3m 02s ago``, or ``just now``."""
    seconds = (now - when).total_seconds()
    return "just now" if seconds < 1 else f"{span(seconds)} ago"


def clock(when: datetime, now: datetime) -> str:
    """A moment in its own time zone, as short as is unambiguous near ``now``.

    ``09:00:10`` today, ``Thu 09:00`` within six days, else ``2026-03-09 09:00``; the zone's
    abbreviation follows when it is not ``now``'s (a Berlin task seen from New York: ``09:00 CET``).
    """
    there = now.astimezone(when.tzinfo) if when.tzinfo is not None else now
    if when.date() == there.date():
        text = when.strftime("%H:%M:%S")
    elif abs((when - there).total_seconds()) < 6 * 86400:
        text = when.strftime("%a %H:%M")
    else:
        text = when.strftime("%Y-%m-%d %H:%M")
    if when.tzinfo is not None and when.utcoffset() != now.utcoffset():
        text += " " + (when.tzname() or "")
    return text.rstrip()


def stamp(when: datetime, now: datetime) -> str:
    """A full date and time in ``now``'s time zone: ``2026-03-02 09:00:03``."""
    local = when.astimezone(now.tzinfo) if now.tzinfo is not None else when
    return local.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """``0.4 s``, ``12 s``, ``2m 05s``; an em dash when unknown."""
    if seconds is None:
        return glyphs().dash
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return span(seconds)


def elapsed(seconds: float) -> str:
    """A running clock: ``0:03``, ``12:45``, ``1:02:03``."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def count(n: int) -> str:
    """``950``, ``1.2k``, ``3.4M``."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def tokens(tin: int | None, tout: int | None) -> str:
    """``120→450 tok`` from a run's token counts, or an empty string when it has none."""
    if tin is None and tout is None:
        return ""
    left = count(tin) if tin is not None else "?"
    right = count(tout) if tout is not None else "?"
    return f"{left}{glyphs().arrow}{right} tok"


def size(nbytes: int) -> str:
    """``512 B``, ``2.1 KB``, ``3.4 MB``."""
    if nbytes < 1024:
        return f"{nbytes} B"
    if nbytes < 1024 * 1024:
        return f"{nbytes / 1024:.1f} KB"
    return f"{nbytes / 1024 / 1024:.1f} MB"


def cost(usd: float) -> str:
    """``$0.0123`` under a dollar, ``$1.23`` from one, ``<$0.0001`` for a sliver."""
    if usd <= 0:
        return "$0"
    if usd < 0.0001:
        return "<$0.0001"
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def cents(usd: float) -> str:
    """A sum to the cent, for totals: ``$0.42``, ``$1,234.50``; ``<$0.01`` for a sliver."""
    if usd <= 0:
        return "$0"
    if usd < 0.005:
        return "<$0.01"
    return f"${usd:,.2f}"


def rate(success: int, failure: int) -> str:
    """``92% ok`` over finished runs, or an empty string before the first one."""
    done = success + failure
    return f"{round(100 * success / done)}% ok" if done else ""


def short_path(path: Path) -> str:
    """``path`` with the home directory written as ``~``."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells; text that had to be cut ends in the ellipsis."""
    if cell_len(text) <= width:
        return text
    mark = glyphs().ellipsis
    keep = width - cell_len(mark)
    if keep <= 0:
        return mark[: max(0, width)]
    # set_cell_size pads with a space where it splits a wide character: drop that pad.
    return set_cell_size(text, keep).rstrip(" ") + mark
