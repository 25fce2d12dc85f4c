"""``type: after`` across tasks: upstream tasks that do not exist, and cycles.

A task's own schedule.yaml can be read alone; whether ``after: fetch`` names a task, and whether
the chain comes back to itself, needs every task. The engine (on each change) and ``check`` ask
:func:`dependency_problems`; a task with such a problem is broken until it is fixed, like one
with a bad schedule.yaml, and the other tasks keep running.
"""

from __future__ import annotations

from collections.abc import Mapping

from bassi_tui.store.models import SCHEDULE_FILE, Task, TaskProblem

__all__ = ["dependency_problems", "upstream_counts", "upstreams"]


#: Upstream ends that count as a failure for ``on: failure`` (a cancelled run starts nothing).
FAILED_ENDS = frozenset({"failed", "timeout", "interrupted", "check_failed"})


def upstream_counts(on: str, status: str) -> bool:
    """Whether an upstream run that ended ``status`` starts a task that runs ``after`` it
    with ``on:`` (success, failure or always)."""
    if status == "success":
        return on in ("success", "always")
    return status in FAILED_ENDS and on in ("failure", "always")


def upstreams(task: Task) -> tuple[str, ...]:
    """The tasks whose runs start ``task`` (empty unless it is ``type: after``)."""
    schedule = task.schedule
    return schedule.after if schedule is not None and schedule.type == "after" else ()


def _cycle_from(start: str, edges: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    """A path start -> ... -> start through ``edges``, if there is one (depth first)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def dependency_problems(tasks: Mapping[str, Task]) -> dict[str, tuple[TaskProblem, ...]]:
    """For each ``type: after`` task that names an unknown task or sits on a cycle: why."""
    edges = {name: upstreams(task) for name, task in tasks.items() if upstreams(task)}
    found: dict[str, tuple[TaskProblem, ...]] = {}
    for name, names in edges.items():
        problems = []
        for upstream in names:
            if upstream not in tasks:
                known = ", ".join(sorted(n for n in tasks if n != name)[:8]) or "none"
                problems.append(
                    TaskProblem(
                        name, SCHEDULE_FILE, None, f"after: no task {upstream!r} (tasks: {known})"
                    )
                )
        cycle = _cycle_from(name, edges)
        if cycle is not None:
            chain = " -> ".join(cycle)
            problems.append(
                TaskProblem(
                    name, SCHEDULE_FILE, None, f"after: a cycle, {chain}: none of them would run"
                )
            )
        if problems:
            found[name] = tuple(problems)
    return found
