"""Human words for a schedule, for task cards and log lines ("every Monday at 09:00")."""

from __future__ import annotations

from datetime import time

from bassi_tui.store.models import WEEKDAYS, Schedule

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


def _weekly(schedule: Schedule) -> str:
    days = sorted(set(schedule.days), key=WEEKDAYS.index)
    if len(days) == 7:
        return f"every day at {_clock(schedule.at)}"
    names = [d.capitalize() for d in days] or ["?"]
    return f"every {_join(names)} at {_clock(schedule.at)}"


def _monthly(schedule: Schedule) -> str:
    day = schedule.day_of_month
    text = f"monthly on day {day if day is not None else '?'} at {_clock(schedule.at)}"
    if day is not None and day >= 29:
        # Days 29-31 are missing from some months; say what happens there.
        text += " (last day in shorter months)"
    return text


def _once(schedule: Schedule) -> str:
    if schedule.run_at is None:
        return "once at ?"
    run_at = schedule.run_at
    return "once at " + run_at.strftime("%Y-%m-%d %H:%M:%S" if run_at.second else "%Y-%m-%d %H:%M")


def describe_schedule(schedule: Schedule) -> str:
    """Words for a schedule: "daily at 09:00", "every Monday, Wednesday and Friday at 09:00",
    "monthly on day 31 at 08:00 (last day in shorter months)", "every 1 h 30 min",
    "cron 0 */2 * * 1-5", "once at 2026-12-24 18:00".

    ", Europe/Berlin" is appended when the schedule names a time zone (none means the system's
    zone, which needs no words). Whether the task is enabled is the caller's business. A field
    that should be there but is not shows as "?" rather than raising, so a card can always draw.
    """
    kind = schedule.type
    if kind == "daily":
        text = f"daily at {_clock(schedule.at)}"
    elif kind == "weekly":
        text = _weekly(schedule)
    elif kind == "monthly":
        text = _monthly(schedule)
    elif kind == "interval":
        text = _interval(schedule.interval_seconds)
    elif kind == "cron":
        text = "cron " + (" ".join(schedule.cron.split()) if schedule.cron else "?")
    else:
        text = _once(schedule)
    if schedule.timezone:
        text += f", {schedule.timezone}"
    return text
