"""What a task spent this day and this month, and the budgets that stop it.

A task's last_run.json keeps ``spend: {day, day_usd, month, month_usd}``: the runs' ``cost_usd``
summed by the day and the month they started in, in this machine's local time. Adding a run of
a newer period starts that period from the run's cost; reading it at a later ``now`` gives 0 for
a period that is over, so a new day (or month) lifts a budget with nothing to reset.

``budget: {daily_usd, monthly_usd}`` in config.yaml limits one task; at the top of bassi.yaml it
limits every task together (the sum of their spends). :func:`over_budget` says which limit a
fire would break, with the figures, for the skip's reason and the card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bassi_tui.store.models import Budget, fields_reduce

__all__ = ["Budget", "BudgetHit", "Spend", "over_budget", "periods"]

Period = Literal["day", "month"]


def periods(when: datetime) -> tuple[str, str]:
    """The day (``2026-12-04``) and month (``2026-12``) of ``when``, in local time."""
    local = when.astimezone() if when.tzinfo is not None else when
    return local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class Spend:
    """The cost of a task's runs in the newest day and month it ran in."""

    __reduce__ = fields_reduce

    day: str | None = None
    day_usd: float = 0.0
    month: str | None = None
    month_usd: float = 0.0

    def add(self, when: datetime, cost: float) -> Spend:
        """This spend with one more run of ``cost`` that started at ``when``.

        A run of an older period than the one kept (a rebuild reads runs oldest first, so
        only a late record does this) counts nowhere: its period is over.
        """
        day, month = periods(when)
        if self.month is not None and month < self.month:
            return self
        month_usd = self.month_usd + cost if month == self.month else cost
        if self.day is not None and day < self.day:
            return Spend(self.day, self.day_usd, month, round(month_usd, 6))
        day_usd = self.day_usd + cost if day == self.day else cost
        return Spend(day, round(day_usd, 6), month, round(month_usd, 6))

    def at(self, now: datetime) -> tuple[float, float]:
        """What was spent on the day and in the month of ``now`` (0 for a period that is over)."""
        day, month = periods(now)
        return (
            self.day_usd if self.day == day else 0.0,
            self.month_usd if self.month == month else 0.0,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``spend`` value of last_run.json."""
        return {
            "day": self.day,
            "day_usd": self.day_usd,
            "month": self.month,
            "month_usd": self.month_usd,
        }

    @classmethod
    def from_json(cls, data: object) -> Spend | None:
        """Read it back; None for a value that is not a spend (the state is then damaged)."""
        if not isinstance(data, Mapping):
            return None
        day, month = data.get("day"), data.get("month")
        day_usd, month_usd = data.get("day_usd", 0.0), data.get("month_usd", 0.0)
        if not all(isinstance(v, str | None) for v in (day, month)):
            return None
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            for v in (day_usd, month_usd)
        ):
            return None
        return cls(day, float(day_usd), month, float(month_usd))


@dataclass(frozen=True, slots=True)
class BudgetHit:
    """A budget a fire would break: which, for what period, and the figures."""

    scope: Literal["task", "all tasks"]
    period: Period
    spent: float
    limit: float
    #: The period it is for (``2026-12-04`` or ``2026-12``): a notification goes out once per
    #: period and scope.
    key: str

    @property
    def reason(self) -> str:
        """The skip's reason, as the history and the log say it."""
        span = "today" if self.period == "day" else "this month"
        whose = "" if self.scope == "task" else " (all tasks, bassi.yaml)"
        return f"budget: ${self.spent:.2f} of ${self.limit:.2f} {span}{whose}"

    @property
    def lifts(self) -> str:
        """When runs resume, for the card."""
        return "tomorrow" if self.period == "day" else "next month"


def over_budget(
    budget: Budget,
    spend: Spend | None,
    now: datetime,
    *,
    total: Budget | None = None,
    spends: Iterable[Spend | None] = (),
) -> BudgetHit | None:
    """The first limit that the task's ``budget`` (its own ``spend``) or bassi.yaml's ``total``
    (every task's ``spends``) has reached at ``now``; None when a fire may run."""
    day, month = periods(now)
    own = (spend or Spend()).at(now)
    hit = _hit("task", budget, own, day, month)
    if hit is None and total is not None and not total.empty:
        summed = [s.at(now) for s in spends if s is not None]
        together = (sum(d for d, _ in summed), sum(m for _, m in summed))
        hit = _hit("all tasks", total, together, day, month)
    return hit


def _hit(
    scope: Literal["task", "all tasks"],
    budget: Budget,
    spent: tuple[float, float],
    day: str,
    month: str,
) -> BudgetHit | None:
    if budget.daily_usd is not None and spent[0] >= budget.daily_usd:
        return BudgetHit(scope, "day", spent[0], budget.daily_usd, day)
    if budget.monthly_usd is not None and spent[1] >= budget.monthly_usd:
        return BudgetHit(scope, "month", spent[1], budget.monthly_usd, month)
    return None
