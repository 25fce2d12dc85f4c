"""Which calendar days a schedule may fire on: ``days:`` (weekdays) and ``skip_holidays:``.

A :class:`DayRule` says whether a date is allowed: its weekday must be one of the rule's, and it
must not be a public holiday of any of the rule's holiday calendars. The store uses it to refuse
schedules that could never fire (``check``); the scheduler wraps slot generators with it (see
:mod:`bassi_tui.scheduler.calendars`), so ``next``, the cards and the engine skip the same days.

Holidays come from the ``holidays`` package, imported on first use only: the first task with
``skip_holidays:`` costs its process about 0.1 s (measured 90-130 ms: ~45 ms to import, the rest
for the list of supported codes, which imports all ~250 country modules at once), every later one
some microseconds (``bench/calendars.py``). Folders are read at start-up, thousands in well under
a second, so none of that happens unless a task asks for it. Each calendar is built once per
(code, year) per process (under a millisecond) and kept.

A holiday calendar code is one of:

- a country, ISO 3166-1 alpha-2 (``DE``, ``US``) or any other code the package knows (``UK``,
  ``DEU``);
- a country subdivision, ``COUNTRY-SUBDIVISION`` with the package's subdivision code
  (``DE-BY`` is Bavaria, ``US-NY`` New York, ``ES-Barcelona``); matched case-insensitively and
  kept in the package's spelling;
- a financial market (``NYSE``, ``XNYS``, ``LSE``): days the exchange is closed.

The package's defaults apply: public holidays, and "observed" days (a US holiday falling on a
Saturday is observed on the Friday before, and that Friday is skipped).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "ALL_WEEKDAYS",
    "WEEKDAY_GROUPS",
    "DayRule",
    "HolidayCodeError",
    "check_holiday_code",
    "holiday_dates",
    "load_holidays",
]

WEEKDAY_GROUPS: dict[str, frozenset[int]] = {
    "weekdays": frozenset(range(5)),
    "weekends": frozenset((5, 6)),
}
"""Words ``days:`` takes besides day names (Python numbering, Monday = 0)."""

ALL_WEEKDAYS = frozenset(range(7))

_lock = threading.RLock()
_module: Any = None
_countries: dict[str, tuple[str, ...]] | None = None
_markets: frozenset[str] | None = None
_dates: dict[tuple[str, int], frozenset[date]] = {}


class HolidayCodeError(ValueError):
    """A ``skip_holidays`` code the holidays package does not know; the message suggests some."""


def load_holidays() -> Any:
    """The ``holidays`` module, imported on first use (typed ``Any``: few calls go through it)."""
    global _module
    with _lock:  # parsing may run in threads
        if _module is None:
            import holidays

            _module = holidays
        return _module


def _country_table() -> dict[str, tuple[str, ...]]:
    """Country code (upper case, aliases too) -> its subdivision codes, in the package's case."""
    global _countries
    with _lock:
        if _countries is None:
            listed = load_holidays().list_supported_countries()
            _countries = {code.upper(): tuple(subs) for code, subs in listed.items()}
        return _countries


def _market_table() -> frozenset[str]:
    global _markets
    with _lock:
        if _markets is None:
            listed = load_holidays().list_supported_financial()
            _markets = frozenset(code.upper() for code in listed)
        return _markets


def _close(word: str, choices: Iterable[str], n: int = 4) -> list[str]:
    """Codes close to ``word``: for short codes the ones a single letter away (difflib ranks
    "DX" nearer to "XK" than to "DE"), else difflib's best; in the choices' own spelling."""
    by_upper = {c.upper(): c for c in choices}
    wanted = word.upper()
    if len(wanted) <= 3:
        near = sorted(
            c
            for c in by_upper
            if len(c) == len(wanted) and sum(a != b for a, b in zip(c, wanted, strict=True)) == 1
        )
        if near:
            return [by_upper[c] for c in near[:n]]
    found = difflib.get_close_matches(wanted, list(by_upper), n=n, cutoff=0.5)
    return [by_upper[f] for f in found]


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _country_by_name(word: str) -> str | None:
    """The code of a country written by name ("Germany", "united states"), if the package has
    that name (its registry is an implementation detail: used only to suggest)."""
    registry = getattr(load_holidays(), "registry", None)
    table = getattr(registry, "COUNTRIES", None)
    if not isinstance(table, dict):
        return None
    wanted = word.replace(" ", "").replace("_", "").lower()
    for module, names in table.items():
        if isinstance(names, tuple) and len(names) >= 2:
            spelled = {module.replace("_", ""), str(names[0]).lower()}
            if wanted in spelled:
                return str(names[1])
    return None


def _subdivision_by_name(country: str, word: str) -> str | None:
    """The subdivision code of a subdivision written by name ("Bayern", "Californa"), if the
    package has a name close enough."""
    cls = getattr(load_holidays(), country, None)
    aliases = getattr(cls, "subdivisions_aliases", None)
    if not isinstance(aliases, dict):
        return None
    by_lower = {str(name).lower(): str(code) for name, code in aliases.items()}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.8)
    return by_lower[found[0]] if found else None


def check_holiday_code(code: str) -> str:
    """``code`` in the package's spelling (``de-by`` -> ``DE-BY``), or HolidayCodeError.

    The error's message says why the code is unknown and suggests close ones; it does not repeat
    the code (callers say "'DE-BX' is not a known holiday calendar: " before it).
    """
    text = code.strip()
    countries = _country_table()
    country, dash, sub = text.partition("-")
    country = country.strip().upper()
    sub = sub.strip()
    if not dash:
        if country in countries or country in _market_table():
            return country
        named = _country_by_name(text)
        if named is not None:
            raise HolidayCodeError(f"write the country's code (did you mean {named}?)")
        close = _close(country, [*countries, *_market_table()])
        hint = f" (did you mean {_or(close)}?)" if close else ""
        raise HolidayCodeError(
            f"no country or market has that code{hint}; expected an ISO country code such as "
            "DE or US, or a subdivision such as DE-BY or US-NY"
        )
    if country not in countries:
        named = _country_by_name(country)
        close = [named] if named else _close(country, countries)
        hint = f" (did you mean {_or([f'{c}-{sub}' for c in close])}?)" if close else ""
        raise HolidayCodeError(f"no country has the code {text.partition('-')[0]!r}{hint}")
    subs = countries[country]
    for known in subs:
        if known.upper() == sub.upper():
            return f"{country}-{known}"
    if not subs:
        raise HolidayCodeError(
            f"the holidays package has no subdivisions of {country}; use {country}"
        )
    named = _subdivision_by_name(country, sub)
    close = [named] if named else _close(sub, subs)
    hint = f" (did you mean {_or([f'{country}-{c}' for c in close])}?)" if close else ""
    listed = ", ".join(subs[:20]) + (", ..." if len(subs) > 20 else "")
    raise HolidayCodeError(
        f"{country} has no subdivision {sub!r}{hint}; its subdivisions: {listed}"
    )


def holiday_dates(code: str, year: int) -> frozenset[date]:
    """The holidays (observed days included) of a code from :func:`check_holiday_code` in
    ``year``; built once per (code, year) and kept for the life of the process."""
    key = (code, year)
    found = _dates.get(key)  # a dict read needs no lock; building does
    if found is not None:
        return found
    with _lock:
        found = _dates.get(key)
        if found is None:
            found = _build_dates(code, year)
            _dates[key] = found
        return found


def _build_dates(code: str, year: int) -> frozenset[date]:
    module = load_holidays()
    country, _, sub = code.partition("-")
    try:
        if country in _country_table():
            calendar = module.country_holidays(country, subdiv=sub or None, years=year)
        else:
            calendar = module.financial_holidays(country, years=year)
    except (ValueError, OverflowError):
        # A year the package cannot compute (none known today; the cron horizon reaches 9999):
        # no holidays known, rather than a trigger that raises inside APScheduler.
        return frozenset()
    return frozenset(day for day in calendar if isinstance(day, date) and day.year == year)


@dataclass(frozen=True, slots=True)
class DayRule:
    """The days a schedule may fire on: ``weekdays`` (Monday = 0), minus ``holidays``' dates."""

    weekdays: frozenset[int] = ALL_WEEKDAYS
    holidays: tuple[str, ...] = ()

    def allows(self, day: date) -> bool:
        """True when a fire may happen on ``day`` (a date in the schedule's zone)."""
        if day.weekday() not in self.weekdays:
            return False
        return not any(day in holiday_dates(code, day.year) for code in self.holidays)

    @property
    def filters(self) -> bool:
        """False for a rule that allows every day (no need to wrap anything with it)."""
        return self.weekdays != ALL_WEEKDAYS or bool(self.holidays)
