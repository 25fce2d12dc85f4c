"""Human words for a schedule, for task cards and log lines ("every Monday at 09:00")."""

from __future__ import annotations

from datetime import time

from bassi_tui.store.models import WEEKDAYS, Schedule, Weekday

__all__ = ["describe_schedule"]


def _clock(at: time | None) -> str:
    if at is None:
        return "?"
    return at.strftime("%H:%M:%S" if at.second else "%H:%M")


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _number(value: float) -> str:
    return f"{value:g}"


def _interval(seconds: float | None) -> str:
    if seconds is None or seconds <= 0:
        return "every ? seconds"
    if seconds != int(seconds) or seconds < 60:
        return "every second" if seconds == 1 else f"every {_number(seconds)} seconds"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if not minutes and not secs:
        return "every hour" if hours == 1 else f"every {hours} hours"
    if not hours and not secs:
        return "every minute" if minutes == 1 else f"every {minutes} minutes"
    # Mixed units read better abbreviated: "every 1 h 30 min".
    parts = [(hours, "h"), (minutes, "min"), (secs, "s")]
    return "every " + " ".join(f"{n} {unit}" for n, unit in parts if n)


def _sorted_days(days: tuple[Weekday, ...]) -> list[Weekday]:
    return sorted(set(days), key=WEEKDAYS.index)


def _on_days(days: tuple[Weekday, ...], at: str) -> str:
    """ "every Monday and Thursday at 09:00", "every weekday at 09:00"."""
    names = _sorted_days(days)
    if len(names) == 7:
        return f"every day at {at}"
    if names == list(WEEKDAYS[:5]):
        return f"every weekday at {at}"
    return f"every {_join([d.capitalize() for d in names] or ['?'])} at {at}"


def _only_on(days: tuple[Weekday, ...]) -> str:
    """ ", only on weekdays" after a monthly or cron schedule whose ``days`` filter it."""
    names = _sorted_days(days)
    if not names or len(names) == 7:
        return ""
    if names == list(WEEKDAYS[:5]):
        return ", only on weekdays"
    if names == list(WEEKDAYS[5:]):
        return ", only on weekends"
    return ", only on " + _join([d.capitalize() + "s" for d in names])


def _weekly(schedule: Schedule) -> str:
    return _on_days(schedule.days, _clock(schedule.at))


def _daily(schedule: Schedule) -> str:
    if schedule.days and len(set(schedule.days)) < 7:
        return _on_days(schedule.days, _clock(schedule.at))
    return f"daily at {_clock(schedule.at)}"


def _monthly(schedule: Schedule) -> str:
    day = schedule.day_of_month
    text = f"monthly on day {day if day is not None else '?'} at {_clock(schedule.at)}"
    if day is not None and day >= 29:
        # Days 29-31 are missing from some months; say what happens there.
        text += " (last day in shorter months)"
    return text


def _after(schedule: Schedule) -> str:
    names = _join(list(schedule.after)) if schedule.after else "?"
    ends = {"success": "succeeds", "failure": "fails", "always": "ends"}[schedule.after_on]
    many = len(schedule.after) > 1
    return f"after {names} {ends[:-1] if many else ends}" + (" (all of them)" if many else "")


def _once(schedule: Schedule) -> str:
    if schedule.run_at is None:
        return "once at ?"
    run_at = schedule.run_at
    return "once at " + run_at.strftime("%Y-%m-%d %H:%M:%S" if run_at.second else "%Y-%m-%d %H:%M")


def describe_schedule(schedule: Schedule) -> str:
    """Words for a schedule: "daily at 09:00", "every Monday, Wednesday and Friday at 09:00",
    "monthly on day 31 at 08:00 (last day in shorter months)", "every 1 h 30 min",
    "cron 0 */2 * * 1-5", "once at 2026-12-24 18:00".

    Excluded days follow: "every weekday at 09:00" (daily with ``days: weekdays``),
    "monthly on day 1 at 08:00, only on weekdays", then ", skipping DE-BY holidays".
    ", Europe/Berlin" is appended when the schedule names a time zone (none means the system's
    zone, which needs no words). Whether the task is enabled is the caller's business. A field
    that should be there but is not shows as "?" rather than raising, so a card can always draw.
    """
    kind = schedule.type
    if kind == "daily":
        text = _daily(schedule)
    elif kind == "weekly":
        text = _weekly(schedule)
    elif kind == "monthly":
        text = _monthly(schedule)
    elif kind == "interval":
        text = _interval(schedule.interval_seconds)
    elif kind == "cron":
        text = "cron " + (" ".join(schedule.cron.split()) if schedule.cron else "?")
    elif kind == "after":
        text = _after(schedule)
    else:
        text = _once(schedule)
    if kind in ("monthly", "cron"):
        text += _only_on(schedule.days)
    if schedule.skip_holidays and kind not in ("interval", "once"):
        text += f", skipping {_join(list(schedule.skip_holidays))} holidays"
    if schedule.timezone:
        text += f", {schedule.timezone}"
    return text
