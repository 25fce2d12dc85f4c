"""Budgets at fire time: which limit a task's next fire would break, and the spend in force.

The spends live in each task's last_run.json (:mod:`~bassi_tui.store.spend`) and the engine keeps
every task's state in memory, so a fire costs a look-up, and bassi.yaml's ``budget:`` (all
tasks together) a sum over the tasks that is kept until a state changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bassi_tui.store.models import Budget, Task
from bassi_tui.store.records import TaskState
from bassi_tui.store.spend import BudgetHit, Spend, over_budget, periods

__all__ = ["Budgets"]


class Budgets:
    """The budgets in force over the engine's task states (read, never written, here)."""

    def __init__(self, states: Mapping[str, TaskState], clock: Callable[[], datetime]) -> None:
        self._states = states
        self._clock = clock
        #: bassi.yaml ``budget:`` (the engine sets it when it reads bassi.yaml).
        self.total = Budget()
        self._summed: tuple[tuple[str, str], Spend] | None = None

    def changed(self) -> None:
        """A task's state changed: the sum over every task is made again when next needed."""
        self._summed = None

    def _together(self, now: datetime) -> Spend:
        """Every task's spend on the day and in the month of ``now``, as one Spend."""
        day, month = periods(now)
        if self._summed is not None and self._summed[0] == (day, month):
            return self._summed[1]
        spent = [s.spend.at(now) for s in self._states.values() if s.spend is not None]
        together = Spend(day, sum(d for d, _ in spent), month, sum(m for _, m in spent))
        self._summed = ((day, month), together)
        return together

    def hit(self, task: Task, now: datetime | None = None) -> BudgetHit | None:
        """The budget a fire of ``task`` would break now, or None when it may run."""
        budget = task.config.budget
        if budget.empty and self.total.empty:
            return None
        now = now or self._clock()
        state = self._states.get(task.name)
        spends = [self._together(now)] if not self.total.empty else []
        return over_budget(
            budget, state.spend if state else None, now, total=self.total, spends=spends
        )

    @staticmethod
    def month_cost(state: TaskState, now: datetime) -> float | None:
        """What ``state``'s task spent in the month of ``now`` (None: nothing recorded)."""
        if state.spend is None:
            return None
        return state.spend.at(now)[1]
