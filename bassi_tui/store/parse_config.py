"""config.yaml: from text to a :class:`~bassi_tui.store.models.TaskConfig`, or problems.

Every key is optional. A bad value is reported and its default used, so the returned config is
always complete; whether a task with problems may run is the caller's decision.

``environment:`` values may be secrets: no message here ever contains one (only variable
names), and YAML syntax errors are reported without the source snippet (see yamlio).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from bassi_tui.store.defaults import Defaults, DefaultsLine, merge_defaults, relocated
from bassi_tui.store.models import (
    CONFIG_FILE,
    Budget,
    ExecutorName,
    MissedPolicy,
    OutputConfig,
    OutputFormat,
    OverlapPolicy,
    TaskConfig,
    TaskProblem,
)
from bassi_tui.store.parse_agent import (
    AGENT_KEYS,
    read_allowed_paths,
    read_mcp_servers,
    read_tools,
    read_workdir,
)
from bassi_tui.store.parse_common import (
    Field,
    Report,
    fields,
    given,
    load_mapping,
    opt,
    read_argv,
    read_bool,
    read_choice,
    read_int,
    read_number,
    read_str,
)
from bassi_tui.store.parse_expect import read_expect
from bassi_tui.store.parse_notify import read_notify
from bassi_tui.store.parse_when import read_when
from bassi_tui.store.yamlio import YMap, YScalar, kind

CONFIG_KEYS = (
    "timeout",
    "retry_on_failure",
    "max_retries",
    "retry_delay",
    "notify",
    "output",
    "environment",
    "missed_task_policy",
    "executor",
    "model",
    "max_tokens",
    "system",
    "command",
    "overlap",
    "expect",
    "when",
    "extends",
    "priority",
    "budget",
    "runs_on",
    *AGENT_KEYS,
)
OUTPUT_KEYS = ("format", "keep_history", "auto_cleanup")
_COMMAND_EXAMPLE = 'e.g. ["python3", "summarise.py"]'
EXECUTORS: tuple[ExecutorName, ...] = get_args(ExecutorName)
MISSED_POLICIES: tuple[MissedPolicy, ...] = get_args(MissedPolicy)
OUTPUT_FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)
OVERLAP_POLICIES: tuple[OverlapPolicy, ...] = get_args(OverlapPolicy)


def parse_config(
    task_name: str,
    text: str,
    file: str = CONFIG_FILE,
    *,
    folder: Path | None = None,
    defaults: Defaults | None = None,
) -> tuple[TaskConfig, list[TaskProblem]]:
    """Parse config.yaml text; an empty file gives all defaults, a bad value its default.

    ``folder`` is the task folder. Without it the agent's paths are checked as written only;
    with it, relative ones are checked on disk too (see :mod:`~bassi_tui.store.parse_agent`).
    ``defaults`` (bassi.yaml's) go under the text's keys before any is read, so they are checked
    as the task's own; a problem in one of their values names bassi.yaml and its line (see
    :mod:`~bassi_tui.store.defaults`).
    """
    report = Report(task_name, file)
    mapping = load_mapping(text, report, empty_message=None)
    if mapping is None:
        return TaskConfig(), report.problems
    return read_config(mapping, report, folder=folder, defaults=defaults)


def read_config(
    mapping: YMap,
    report: Report,
    *,
    folder: Path | None = None,
    defaults: Defaults | None = None,
) -> tuple[TaskConfig, list[TaskProblem]]:
    """:func:`parse_config` from the parsed file on: ``mapping`` read into a config.

    For a caller that has looked at the file's keys first (``extends:``: see
    :mod:`~bassi_tui.store.templates`); its problems go into the same ``report``.
    ``extends:`` itself is read there, not here: here it is only a known key, refused in
    bassi.yaml's defaults (a task says what it extends).
    """
    if defaults is not None:
        mapping = merge_defaults(defaults.config, mapping)
    got = fields(mapping, CONFIG_KEYS, report)
    if (f := got.get("extends")) is not None and isinstance(f.line, DefaultsLine):
        report.add(f.line, "extends: a task names its template in its own config.yaml, not here")
    d = TaskConfig()  # the defaults

    executor = opt(
        got, "executor", lambda f: read_choice(f, report, "executor", EXECUTORS), d.executor
    )
    if (
        executor == "command"
        and given(got, "command") is None
        and "command" not in report.suggested  # `comand:` already said "did you mean"
    ):
        # A bad `command:` value has its own problem already; this is for a missing one.
        report.add(
            got["executor"].line,
            f"executor command needs `command:`, the program and its arguments, {_COMMAND_EXAMPLE}",
        )
    config = TaskConfig(
        timeout=opt(
            got,
            "timeout",
            lambda f: read_number(f, report, "timeout", minimum=0, strict=True),
            d.timeout,
        ),
        retry_on_failure=opt(
            got,
            "retry_on_failure",
            lambda f: read_bool(f, report, "retry_on_failure"),
            d.retry_on_failure,
        ),
        max_retries=opt(
            got,
            "max_retries",
            lambda f: read_int(f, report, "max_retries", minimum=0),
            d.max_retries,
        ),
        retry_delay=opt(
            got,
            "retry_delay",
            lambda f: read_number(f, report, "retry_delay", minimum=0),
            d.retry_delay,
        ),
        notify=opt(got, "notify", lambda f: read_notify(f, report, folder), d.notify),
        output=opt(got, "output", lambda f: _output(f, report), d.output),
        environment=opt(got, "environment", lambda f: _environment(f, report), d.environment),
        missed_task_policy=opt(
            got,
            "missed_task_policy",
            lambda f: read_choice(f, report, "missed_task_policy", MISSED_POLICIES),
            d.missed_task_policy,
        ),
        executor=executor,
        model=opt(got, "model", lambda f: read_str(f, report, "model", non_empty=True), d.model),
        max_tokens=opt(
            got, "max_tokens", lambda f: read_int(f, report, "max_tokens", minimum=1), d.max_tokens
        ),
        system=opt(got, "system", lambda f: read_str(f, report, "system"), d.system),
        command=opt(got, "command", lambda f: _command(f, report), d.command),
        overlap=opt(
            got, "overlap", lambda f: read_choice(f, report, "overlap", OVERLAP_POLICIES), d.overlap
        ),
        # The agent's keys are read whatever the executor, so switching to agent is one edit.
        workdir=opt(got, "workdir", lambda f: read_workdir(f, report, folder), d.workdir),
        tools=opt(got, "tools", lambda f: read_tools(f, report), d.tools),
        allowed_paths=opt(
            got,
            "allowed_paths",
            lambda f: read_allowed_paths(f, report, folder),
            d.allowed_paths,
        ),
        max_turns=opt(
            got, "max_turns", lambda f: read_int(f, report, "max_turns", minimum=1), d.max_turns
        ),
        mcp_servers=opt(
            got, "mcp_servers", lambda f: read_mcp_servers(f, report, folder), d.mcp_servers
        ),
        expect=opt(got, "expect", lambda f: read_expect(f, report), d.expect),
        when=opt(got, "when", lambda f: read_when(f, report), d.when),
        priority=opt(
            got,
            "priority",
            lambda f: read_int(f, report, "priority", minimum=-1000, maximum=1000),
            d.priority,
        ),
        budget=opt(got, "budget", lambda f: read_budget(f, report), d.budget),
        runs_on=opt(got, "runs_on", lambda f: _label(f, report), d.runs_on),
    )
    return config, relocated(report.sorted())


BUDGET_KEYS = ("daily_usd", "monthly_usd")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def read_budget(f: Field, report: Report) -> Budget | None:
    """``budget: {daily_usd: X, monthly_usd: Y}``, US dollars > 0 (config.yaml and bassi.yaml)."""
    said = len(report.problems)
    got = _submap(f, report, BUDGET_KEYS)
    if got is None:
        return None
    if not got and len(report.problems) == said:  # a typo already said "did you mean"
        report.add(f.line, "budget: expected daily_usd and/or monthly_usd, e.g. {daily_usd: 2}")
        return None
    limits = [
        opt(
            got,
            key,
            lambda x: read_number(x, report, f"budget.{x.name}", minimum=0, strict=True),
            None,
        )
        for key in BUDGET_KEYS
    ]
    return Budget(*limits)


def _label(f: Field, report: Report) -> str | None:
    """``runs_on:`` names a worker queue: letters, digits, ``_ . -``, as RQ queue names go."""
    text = read_str(f, report, "runs_on", non_empty=True)
    if text is None:
        return None
    if not _LABEL.fullmatch(text):
        report.add(
            f.line,
            f"runs_on: {text!r} is not a worker label: use letters, digits, '_', '.' or '-' "
            "(e.g. gpu-box)",
        )
        return None
    return text


def _submap(f: Field, report: Report, allowed: tuple[str, ...]) -> dict[str, Field] | None:
    if not isinstance(f.node, YMap):
        report.add(
            f.line, f"{f.name}: expected a mapping of {', '.join(allowed)}, got {kind(f.node)}"
        )
        return None
    return fields(f.node, allowed, report, prefix=f"{f.name}.")


def _output(f: Field, report: Report) -> OutputConfig | None:
    got = _submap(f, report, OUTPUT_KEYS)
    if got is None:
        return None
    d = OutputConfig()
    return OutputConfig(
        format=opt(
            got,
            "format",
            lambda x: read_choice(x, report, "output.format", OUTPUT_FORMATS),
            d.format,
        ),
        keep_history=opt(
            got,
            "keep_history",
            lambda x: read_int(x, report, "output.keep_history", minimum=0),
            d.keep_history,
        ),
        auto_cleanup=opt(
            got,
            "auto_cleanup",
            lambda x: read_bool(x, report, "output.auto_cleanup"),
            d.auto_cleanup,
        ),
    )


def _environment(f: Field, report: Report) -> dict[str, str] | None:
    """NAME: value pairs as strings. Messages name variables, never their values."""
    if not isinstance(f.node, YMap):
        report.add(f.line, f"environment: expected a mapping of NAME: value, got {kind(f.node)}")
        return None
    env: dict[str, str] = {}
    lines: dict[str, int] = {}
    for key, value in f.node.entries:
        name = key.raw
        if name in lines:
            report.add(
                key.line, f"environment: duplicate variable {name!r} (first on line {lines[name]})"
            )
            continue
        lines[name] = key.line
        # The OS refuses these names in execve; better to say so now than at run time.
        if not name or "=" in name or "\0" in name:
            report.add(key.line, f"environment: {name!r} is not a valid variable name")
        elif not isinstance(value, YScalar):
            report.add(
                value.line,
                f"environment: {name}: expected a string, number or boolean, got {kind(value)}",
            )
        elif "\0" in value.raw:
            report.add(value.line, f"environment: {name}: value contains a NUL character")
        else:
            # The source text, not the YAML value: `VERSION: 1.10` must stay "1.10", not "1.1".
            env[name] = "" if value.is_null else value.raw
    return env


def _command(f: Field, report: Report) -> tuple[str, ...] | None:
    return read_argv(f, report, "command", _COMMAND_EXAMPLE)
