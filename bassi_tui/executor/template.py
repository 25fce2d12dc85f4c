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

import math
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo

from bassi_tui.store.records import RunRecord

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
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


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
    *,
    zone: tzinfo | None = None,
) -> dict[str, str]:
    """The values for every variable in :data:`VARIABLE_NAMES`, in the original design's formats.

    =====================  ===========================  ====================================
    variable               example                      before any run
    =====================  ===========================  ====================================
    ``{date}``             ``2025-01-16``
    ``{time}``             ``09:00`` (no seconds)
    ``{timestamp}``        ``1737014400`` (Unix s)
    ``{weekday}``          ``monday`` (English, lower)
    ``{task_name}``        the folder name
    ``{last_run_date}``    ``2025-01-15``               empty string
    ``{last_run_success}`` ``true`` / ``false``         ``false``
    =====================  ===========================  ====================================

    ``zone`` is the task's time zone (schedule.yaml ``timezone``): ``now`` and ``last_run`` are
    converted to it, so a run at 23:30 UTC for a task in UTC+14 sees tomorrow's ``{date}``, as
    the person who wrote the schedule in that zone expects. Without ``zone`` the values are in
    ``now``'s own zone. A naive ``now`` or ``last_run`` is taken as the system's local time.
    ``{timestamp}`` is zone-free, an integer count of seconds (fractions dropped).
    """
    if zone is not None or now.tzinfo is None:
        now = now.astimezone(zone)  # astimezone(None) = the system's zone, for a naive now
    # Before any run: the original design's empty string, not a word a prompt would have to parse.
    last_run_date = "" if last_run is None else last_run.astimezone(now.tzinfo).strftime("%Y-%m-%d")
    return {
        "date": now.strftime("%Y-%m-%d"),
        "time": now.strftime("%H:%M"),
        "timestamp": str(math.floor(now.timestamp())),
        "weekday": _WEEKDAY_NAMES[now.weekday()],
        "task_name": task_name,
        "last_run_date": last_run_date,
        # No run yet is not a success: a prompt branching on it must not assume one.
        "last_run_success": "true" if last_run_success else "false",
    }


#: ``{after_output}`` inlines at most this many characters of the upstream run's output.
AFTER_OUTPUT_MAX = 20_000


def after_variables(upstream: RunRecord) -> dict[str, str]:
    """``{after_status}``, ``{after_result_file}`` and ``{after_output}`` for a run started by
    ``upstream``'s end (``type: after``); blocking (it reads the output's head).

    The output is cut at :data:`AFTER_OUTPUT_MAX` characters with a note saying so, and the
    file's path is given whole, so a prompt can ask the agent to read the rest.
    """
    path = upstream.output_file
    text = ""
    if path is not None:
        try:
            with path.open("rb") as handle:
                data = handle.read(AFTER_OUTPUT_MAX * 4 + 1)
        except OSError:
            data = b""
        text = data.decode("utf-8", "replace")
        if len(text) > AFTER_OUTPUT_MAX or len(data) > AFTER_OUTPUT_MAX * 4:
            text = text[:AFTER_OUTPUT_MAX] + f"\n[... cut: the whole output is in {path}]"
    return {
        "after_status": upstream.status,
        "after_result_file": str(path) if path is not None else "",
        "after_output": text,
    }
