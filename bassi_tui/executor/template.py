"""Prompt templates: ``{date}``-style variables in prompt.txt, expanded at run time.

Only the known variable names are replaced. Prompts routinely contain JSON, code and other
templating languages, so every other brace is left exactly as written: ``str.format`` is never
used (it would choke on ``{"a": 1}`` and would turn ``{{`` into ``{``).

Doubled braces are an escape hatch: ``{{date}}`` stays ``{{date}}`` verbatim (it is neither
expanded nor unescaped to ``{date}``), so a prompt can show the variable syntax itself, and
Jinja/Handlebars-style text passes through untouched. A variable that merely sits next to other
braces is still expanded: ``{"a": {date}}`` becomes ``{"a": 2025-01-31}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

__all__ = ["VARIABLE_NAMES", "expand_prompt", "template_variables"]

VARIABLE_NAMES: tuple[str, ...] = (
    "date",
    "time",
    "timestamp",
    "weekday",
    "task_name",
    "last_run_date",
    "last_run_success",
)
"""The variables :func:`template_variables` provides, in the order the docs list them."""

# Alternation order matters: at each position the doubled form is tried first, so ``{{date}}``
# is consumed whole (and kept) before the single form could match its inner ``{date}``.
_PATTERN = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")

# strftime("%A") follows the C locale of the process; prompts must not change language with it.
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def expand_prompt(template: str, variables: Mapping[str, str]) -> str:
    """Replace each ``{name}`` whose name is in ``variables``; leave all other text as it is.

    Unknown names (``{foo}``), JSON, lone or unbalanced braces and doubled braces
    (``{{date}}``) are returned unchanged.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(2)
        if name is None or name not in variables:
            return match.group(0)  # doubled braces or an unknown name: keep verbatim
        return variables[name]

    return _PATTERN.sub(replace, template)


def template_variables(
    task_name: str,
    now: datetime,
    last_run: datetime | None,
    last_run_success: bool | None,
) -> dict[str, str]:
    """The values for every variable in :data:`VARIABLE_NAMES`.

    ``now`` should be aware and in the task's time zone; a naive ``now`` is taken as the
    system's local time so ``{timestamp}`` always carries an offset. ``last_run`` is shown in
    ``now``'s zone, so ``{last_run_date}`` and ``{date}`` agree on what "today" means.
    """
    if now.tzinfo is None:
        now = now.astimezone()  # naive = local wall time; attach the local offset
    if last_run is None:
        last_run_date = "never"
    else:
        if last_run.tzinfo is not None:
            last_run = last_run.astimezone(now.tzinfo)
        last_run_date = last_run.strftime("%Y-%m-%d")
    success = {None: "unknown", True: "true", False: "false"}[last_run_success]
    return {
        "date": now.strftime("%Y-%m-%d"),
        "time": now.strftime("%H:%M:%S"),
        "timestamp": now.isoformat(timespec="seconds"),
        "weekday": _WEEKDAY_NAMES[now.weekday()],
        "task_name": task_name,
        "last_run_date": last_run_date,
        "last_run_success": success,
    }
