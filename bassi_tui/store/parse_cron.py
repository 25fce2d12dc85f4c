"""Validation of five-field cron expressions, with errors that name the bad field.

The dialect is crontab(5), the one people copy lines from, and the one the scheduler fires by
(:mod:`bassi_tui.scheduler.crontab`):

- minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or jan..dec, day-of-week 0-7 or
  sun..sat (0 and 7 are both Sunday); names are case-insensitive;
- each field is a comma list of ``*``, ``N`` or ``N-M``, each optionally followed by ``/STEP``;
  ``N/STEP`` means ``N-max/STEP`` (as in cronie).

Why not ``CronTrigger.from_crontab``: APScheduler 3 reads day-of-week 0 as Monday and refuses 7,
so it would reject valid lines (``0 9 * * 7``) and accept others with a different meaning.

An expression that can never fire (``0 0 30 2 *``) is refused too, so it shows up in
``bassi-tui check`` instead of as a task that silently never runs.
"""

from __future__ import annotations

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (lowest, highest, names whose position + lowest is the value)
_SPECS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "minute": (0, 59, ()),
    "hour": (0, 23, ()),
    "day-of-month": (1, 31, ()),
    "month": (1, 12, _MONTHS),
    "day-of-week": (0, 7, _WEEKDAYS),
}
# Longest month lengths (leap February), to spot days that never exist.
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class CronError(ValueError):
    """A cron expression that cannot be used; the message says which field and why."""


def check_cron(expr: str) -> str:
    """Validate a crontab expression; return it with runs of spaces collapsed.

    Raises :class:`CronError` with a message such as ``minute 61 is out of range 0-59``.
    """
    parts = expr.split()
    if len(parts) != 5:
        raise CronError(
            f"expected five fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    values = [_field(label, text) for label, text in zip(FIELD_NAMES, parts, strict=True)]
    days, months = values[2], values[3]
    # crontab(5): if either day field starts with `*`, a day must match both; otherwise either.
    # Every real (month, day) date falls on every weekday over the years, so an expression
    # can only never fire when the day-of-month list misses every month's length.
    both_must_match = parts[2].startswith("*") or parts[4].startswith("*")
    if both_must_match and not any(d <= _MONTH_DAYS[m - 1] for m in months for d in days):
        raise CronError(
            f"day-of-month {parts[2]} never occurs in month {parts[3]}; it would never run"
        )
    return " ".join(parts)


def _field(label: str, text: str) -> set[int]:
    low, high, _ = _SPECS[label]
    found: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{label} {text!r} has an empty item; expected N, N-M or *")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{label} step {step_text!r} must be a whole number above 0")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = _value(label, start), _value(label, end)
            if first > last:
                raise CronError(f"{label} range {base!r} goes backwards; expected low-high")
        else:
            first = _value(label, base)
            last = high if slash else first
        found.update(range(first, last + 1, step))
    return found


def _value(label: str, token: str) -> int:
    low, high, names = _SPECS[label]
    if token.lower() in names:
        return names.index(token.lower()) + low
    if not token.isdigit():
        named = f" or {names[0]}..{names[-1]}" if names else ""
        raise CronError(f"{label} {token!r} is not a number; expected {low}-{high}{named}")
    number = int(token)
    if not low <= number <= high:
        sunday = " (0 and 7 are sunday)" if label == "day-of-week" else ""
        raise CronError(f"{label} {number} is out of range {low}-{high}{sunday}")
    return number
