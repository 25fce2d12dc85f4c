"""``bassi-tui migrate``: the older JSON tasks (``~/.bassi/tasks/*.json``) as task folders.

Before the folder store, bassi's design kept one JSON file per task (docs/task-scheduler-skill-
claude.md in bennoloeffler/bassi, "Task File Format"); its final design says how to carry them
over ("Migration from Existing Approaches" in docs/task-scheduler-skill-FINAL.md). Each file
becomes a task folder named after the file, beside the tasks dir's other tasks::

    weekly-report.json          ->  weekly-report/schedule.yaml   schedule.type/day/time/...,
                                                                  enabled
                                    weekly-report/prompt.txt      prompt, exactly as it was
                                    weekly-report/config.yaml     options (timeout, retries,
                                                                  notify), only when there are
                                    weekly-report/last_run.json   last_run, run_count (and the
                                                                  success/failure counts)

What the folder store has no place for (``name``, ``created_at``, the old ``next_run``, unknown
keys) is written as comments into schedule.yaml (config.yaml for ``options``) and named on the
task's line: nothing is dropped without a word. The JSON files are only read, never changed or
removed, and an existing folder is never written to, so running it twice is safe: the second
run says "exists, left alone".

Decisions where the old format is loose:

- A weekly ``day`` given as a number is read as the old ``bassi schedule add`` wrote it and as
  its launchd plists used it: 0 (or 7) is Sunday, 1 Monday .. 6 Saturday. (The final design's
  migration sketch indexed a Monday-first list instead; the files were written the other way.)
  The number is kept in a comment beside the day it became.
- ``interval_seconds`` becomes ``hours``, ``minutes`` or ``seconds``, whichever says it exactly.
- A ``time`` or ``day`` the new type does not take (the old model gave every schedule a
  ``time: "09:00"``) is kept as a comment, not written as a key the new parser would refuse.
- A ``last_run`` without a UTC offset is taken as the machine's local time (the old code wrote
  ``datetime.now()``). The old ``next_run`` is not carried over: bassi-tui works out its own,
  and a stale one would count fires as missed that the old scheduler may well have run. A
  ``once`` task that has run is marked as fired, so it never runs again.
- ``last_run.json`` also records ``migrated_from`` (the JSON file's name), and schedule.yaml
  starts with a comment naming the file: that is how a later run tells a folder it made (left
  alone, exit 0) from an unrelated folder of the same name (left alone too, but the JSON task is
  then *not* migrated: exit 1).
- Folder names: the file name without ``.json``; characters other than letters, digits, ``.``,
  ``_`` and ``-`` become ``-``, leading dots and dashes go (a dot folder would be ignored), and
  the name is cut to :data:`NAME_MAX_BYTES`. Two files that come out the same get ``-2``,
  ``-3``... in file-name order.

Every value is transcribed as it was: what the new format cannot take (a time zone that is not
an IANA name, ``time: "9am"``) is still written, and the folder is then checked as ``bassi-tui
check`` checks it; each problem prints as check prints it (``task/schedule.yaml:4: ...``) and
the exit code is 1. A file that gives nothing to write (not JSON, no ``prompt``, no ``schedule``
object) is not migrated: exit 1, nothing written.

A folder is built as a dot folder in the tasks dir (the app ignores those) and renamed into
place when complete: a running app never sees half a task, and a crash leaves no broken one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bassi_tui.store.atomic import atomic_write_bytes
from bassi_tui.store.defaults import BASSI_FILE, Defaults
from bassi_tui.store.inert import inert
from bassi_tui.store.models import (
    CONFIG_FILE,
    PROMPT_FILE,
    SCHEDULE_FILE,
    STATE_FILE,
    Schedule,
    Task,
    TaskProblem,
)
from bassi_tui.store.parse import load_task, parse_config, parse_schedule
from bassi_tui.store.records import TaskState
from bassi_tui.store.settings import read_settings
from bassi_tui.store.state import write_state

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "OLD_TASKS_DIR",
    "NotMigratable",
    "Plan",
    "folder_name",
    "folder_names",
    "list_sources",
    "migrate_command",
    "plan_task",
    "problem_lines",
    "read_old_task",
]

OLD_TASKS_DIR = Path("~/.bassi/tasks")
"""Where the older design kept its JSON tasks: ``migrate``'s SRC when none is given."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: Bigger JSON files are refused unread (a prompt.txt may hold 1 MiB; the rest is small).
MAX_JSON_BYTES = 4 * 1024 * 1024
#: Folder names are cut to this many bytes (UTF-8): room for a suffix below the usual 255.
NAME_MAX_BYTES = 100
#: The first line of a migrated schedule.yaml, followed by the JSON file's path.
MARKER = "# Migrated from the older JSON task "
#: The key in last_run.json naming the JSON file a folder was made from.
MIGRATED_FROM = "migrated_from"

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The old day numbers: 0 and 7 Sunday, 1 Monday .. 6 Saturday (old parser, launchd Weekday).
_OLD_DAY_NUMBERS = {0: "sunday", 7: "sunday", **{n: _WEEKDAYS[n - 1] for n in range(1, 7)}}
_TYPES = ("daily", "weekly", "monthly", "interval", "cron", "once")
_TIMED = ("daily", "weekly", "monthly")
_TEMPLATE_VARS = re.compile(
    r"(?<!\{)\{(date|time|timestamp|weekday|task_name|last_run_date|last_run_success)\}(?!\})"
)

# Keys of an old task with a place in the folder, at the top level and under "schedule".
_TOP_KEYS = (
    "task_id",
    "prompt",
    "schedule",
    "enabled",
    "options",
    "last_run",
    "run_count",
    "success_count",
    "failure_count",
    "last_status",
)
# options -> config.yaml: (key, nested under, what the old key meant when renamed)
_OPTIONS: dict[str, tuple[str, str | None]] = {
    "timeout": ("timeout", None),
    "retry_on_error": ("retry_on_failure", None),
    "retry_on_failure": ("retry_on_failure", None),
    "max_retries": ("max_retries", None),
    "retry_delay": ("retry_delay", None),
    "notify_on_failure": ("on_failure", "notify"),
    "notify_on_success": ("on_success", "notify"),
}


class NotMigratable(Exception):
    """An old task file that gives nothing to write; the message says why (one line)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """One old task as the files of its folder: what :func:`migrate_command` writes."""

    name: str
    source: Path
    schedule_text: str
    prompt_text: str
    config_text: str | None
    state: TaskState
    #: What went into comments (``name``, ``options.foo``): named on the task's line.
    kept: tuple[str, ...] = ()
    #: Things worth a word on the task's line (a day number read as a weekday, a variable).
    notes: tuple[str, ...] = ()

    def file_bytes(self) -> dict[str, bytes]:
        """The folder's task files (last_run.json is written through the store's writer)."""
        out = {
            SCHEDULE_FILE: self.schedule_text.encode("utf-8"),
            # The prompt byte for byte; a lone surrogate from JSON escapes makes invalid UTF-8,
            # which the check below then reports, rather than failing the write.
            PROMPT_FILE: self.prompt_text.encode("utf-8", errors="surrogatepass"),
        }
        if self.config_text is not None:
            out[CONFIG_FILE] = self.config_text.encode("utf-8")
        return out


# -- reading and naming ---------------------------------------------------------------------


def read_old_task(path: Path) -> dict[str, Any]:
    """An old task file's JSON object; :class:`NotMigratable` when it is not one."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise NotMigratable(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > MAX_JSON_BYTES:
        raise NotMigratable(f"larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB; not read")
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NotMigratable("not UTF-8 text; expected a JSON task") from None
    except ValueError as exc:
        raise NotMigratable(f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise NotMigratable(f"expected a JSON object (a task), got {_json_kind(obj)}")
    return obj


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return (
        "a number" if isinstance(value, int | float) and not isinstance(value, bool) else "a bool"
    )


def folder_name(stem: str) -> str:
    """A plain folder name from an old file's name (module docstring); never empty."""
    name = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in stem)
    name = re.sub(r"-{2,}", "-", name).lstrip(".-").rstrip("-")
    cut = name.encode("utf-8")[:NAME_MAX_BYTES].decode("utf-8", errors="ignore")
    return cut.rstrip("-.") or "task"


def folder_names(sources: list[Path]) -> dict[Path, str]:
    """Each source's folder name, unique among them (``-2``, ``-3``... in the given order)."""
    taken: set[str] = set()
    names: dict[Path, str] = {}
    for source in sources:
        base = folder_name(source.stem)
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        names[source] = name
    return names


def list_sources(src: Path) -> list[Path]:
    """The ``*.json`` files in ``src`` (or ``src`` itself, a file), sorted; OSError if unread."""
    if src.is_file():
        return [src]
    found = [
        Path(entry.path)
        for entry in os.scandir(src)
        if entry.name.lower().endswith(".json") and entry.is_file()
    ]
    return sorted(found, key=lambda p: p.name)


# -- YAML, written by hand so comments go where they belong ---------------------------------

# Characters a YAML stream may not hold raw (PyYAML's reader refuses them), plus the ones it
# reads as line breaks (NEL, LS, PS) and lone surrogates.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


#: Strings safe to write unquoted: a word or a zone name, and not one YAML reads as something else.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")
_YAML_WORDS = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"))


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar: one line, every odd character escaped."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    body = body.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{_NOT_PRINTABLE.sub(_escape_char, body)}"'


def _scalar(value: object) -> str | None:
    """A JSON scalar as YAML that reads back as the same value; None for lists and objects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
            return value  # weekly, monday, Europe/Berlin: as a person would write them
        return _quote(value)
    return None


def _shown(value: object) -> str:
    """A value for a comment: compact JSON on one line, nothing a terminal or YAML obeys."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return _NOT_PRINTABLE.sub(_escape_char, inert(text))


# -- planning ---------------------------------------------------------------------------------


class _Draft:
    """A file being put together: its keys and the comments above them."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.kept_lines: list[str] = []
        self.kept: list[str] = []
        self.notes: list[str] = []

    def key(self, key: str, value: object, comment: str | None = None) -> bool:
        """Write ``key: value``; a list or object is kept as a comment instead (False)."""
        text = _scalar(value)
        if text is None:
            return False
        self.lines.append(f"{key}: {text}" + (f"  # {comment}" if comment else ""))
        return True

    def keep(self, label: str, value: object, why: str = "") -> None:
        """Put an old value the new file has no place for into a comment."""
        self.kept.append(label)
        self.kept_lines.append(
            f"#   {inert(label)}: {_shown(value)}" + (f"  ({why})" if why else "")
        )


def plan_task(source: Path, data: Mapping[str, Any], name: str) -> Plan:
    """The folder ``name`` for the old task ``data`` read from ``source`` (nothing is written).

    :class:`NotMigratable` when there is no prompt text or no schedule object to write.
    """
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        raise NotMigratable('no "prompt" text; nothing to write as prompt.txt')
    old_schedule = data.get("schedule")
    if not isinstance(old_schedule, Mapping):
        raise NotMigratable('no "schedule" object; nothing to write as schedule.yaml')

    sched = _Draft()
    stype = _schedule(old_schedule, data, sched)
    config = _Draft()
    _options(data.get("options"), config)
    state = _state(name, source, data, stype, sched)
    for key, value in data.items():
        if value is None or (key == "task_id" and value == name):
            continue  # null says nothing; a task_id equal to the folder's name is said by it
        if key not in _TOP_KEYS or key == "task_id":
            why = "the folder is named after the file" if key == "task_id" else ""
            if key == "next_run":
                why = "not carried over: bassi-tui works out its own next run"
            sched.keep(key, value, why)
    if _TEMPLATE_VARS.search(prompt):
        used = sorted({m.group(1) for m in _TEMPLATE_VARS.finditer(prompt)})
        sched.notes.append(
            "prompt.txt uses " + ", ".join(f"{{{v}}}" for v in used) + ", filled in at run time"
        )

    shown_source = inert(str(source))
    head = [
        f"{MARKER}{shown_source}",
        "# by `bassi-tui migrate` (the JSON file is kept as it was).",
    ]
    if sched.kept_lines:
        head.append("# What the folder store has no place for, kept so nothing is lost:")
    schedule_text = "\n".join([*head, *sched.kept_lines, *sched.lines]) + "\n"
    config_text: str | None = None
    if config.lines or config.kept_lines:
        chead = [f"# From the older JSON task's options ({inert(source.name)})."]
        if config.kept_lines:
            chead.append("# Options with no place here, kept so nothing is lost:")
        config_text = "\n".join([*chead, *config.kept_lines, *config.lines]) + "\n"
    return Plan(
        name=name,
        source=source,
        schedule_text=schedule_text,
        prompt_text=prompt,
        config_text=config_text,
        state=state,
        kept=(*sched.kept, *config.kept),
        notes=(*sched.notes, *config.notes),
    )


def _schedule(old: Mapping[str, Any], task: Mapping[str, Any], d: _Draft) -> str | None:
    """schedule.yaml's keys from the old ``schedule`` and ``enabled``; returns the type."""
    raw_type = old.get("type")
    stype = raw_type.strip().lower() if isinstance(raw_type, str) else None
    if raw_type is not None and not d.key("type", stype if stype is not None else raw_type):
        d.keep("schedule.type", raw_type)
    used = {"type"}

    def take(key: str, label: str | None = None) -> Any:
        used.add(key)
        value = old.get(key)
        if value is not None and not d.key(label or key, value):
            d.keep(f"schedule.{key}", value)
        return value

    if stype == "weekly":
        used.add("day")
        _weekly_day(old.get("day"), d)
    elif stype == "monthly":
        used.add("day")
        day = old.get("day")
        if isinstance(day, str) and day.strip().isdigit():
            day = int(day.strip())
        if day is not None and not d.key("day", day):
            d.keep("schedule.day", day)
    if stype in _TIMED:
        take("time")
    elif stype == "interval":
        _interval(old, d, used)
    elif stype == "cron":
        take("cron")
    elif stype == "once":
        _once(old, d, used)
    if "timezone" in old:
        take("timezone")
    if "jitter" in old:
        take("jitter")
    enabled = task.get("enabled")
    if enabled is not None and not d.key("enabled", enabled):
        d.keep("enabled", enabled)
    for key, value in old.items():
        if key in used or value is None:
            continue
        why = f"type {stype} does not use it" if stype in _TYPES else ""
        d.keep(f"schedule.{key}", value, why)
    return stype


def _weekly_day(day: object, d: _Draft) -> None:
    days = day if isinstance(day, list) else [day]
    out: list[str] = []
    numbered: list[str] = []
    for item in days:
        if isinstance(item, int) and not isinstance(item, bool) and item in _OLD_DAY_NUMBERS:
            out.append(_OLD_DAY_NUMBERS[item])
            numbered.append(f"{item} = {_OLD_DAY_NUMBERS[item]}")
        elif isinstance(item, str):
            out.append(item.strip().lower())
        elif item is not None:
            out.append(str(item))  # written quoted; the check names it
    if not out:
        return  # no day: the check says `type weekly needs day:`
    comment = None
    if numbered:
        comment = f"old day number {', '.join(numbered)} (0 and 7 are Sunday)"
        d.notes.append(f"day {', '.join(numbered)}")
    if len(out) == 1 and not isinstance(day, list):
        d.key("day", out[0], comment)
    else:
        items = ", ".join(_quote(x) for x in out)
        d.lines.append(f"day: [{items}]" + (f"  # {comment}" if comment else ""))


def _interval(old: Mapping[str, Any], d: _Draft, used: set[str]) -> None:
    used.update(("interval_seconds", "seconds", "minutes", "hours"))
    seconds = old.get("interval_seconds")
    if seconds is not None:
        if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds > 0:
            for unit, size in (("hours", 3600), ("minutes", 60), ("seconds", 1)):
                if seconds % size == 0:
                    d.key(unit, seconds // size, f"interval_seconds: {seconds}")
                    break
        elif not d.key("seconds", seconds):
            d.keep("schedule.interval_seconds", seconds)
    for unit in ("seconds", "minutes", "hours"):
        value = old.get(unit)
        if value is not None and not d.key(unit, value):
            d.keep(f"schedule.{unit}", value)


def _once(old: Mapping[str, Any], d: _Draft, used: set[str]) -> None:
    for key in ("datetime", "run_at"):
        value = old.get(key)
        if value is not None:
            used.add(key)
            if not d.key("datetime", value):
                d.keep(f"schedule.{key}", value)
            return
    date, at = old.get("date"), old.get("time")
    if isinstance(date, str) and isinstance(at, str):
        used.update(("date", "time"))
        d.key("datetime", f"{date.strip()} {at.strip()}", "from date and time")


def _options(options: object, d: _Draft) -> None:
    """config.yaml's keys from the old ``options``."""
    if options is None:
        return
    if not isinstance(options, Mapping):
        d.keep("options", options, "not an object")
        return
    nested: dict[str, list[str]] = {}
    for key, value in options.items():
        if value is None:
            continue
        target = _OPTIONS.get(key)
        text = _scalar(value) if target is not None else None
        if target is None or text is None:
            d.keep(f"options.{key}", value)
            continue
        new_key, parent = target
        comment = f"options.{key}" if key != new_key or parent else None
        line = f"{new_key}: {text}" + (f"  # {comment}" if comment else "")
        if parent is None:
            d.lines.append(line)
        else:
            nested.setdefault(parent, []).append("  " + line)
    for parent, lines in nested.items():
        d.lines.append(f"{parent}:")
        d.lines.extend(lines)
        if parent == "notify":
            d.notes.append("notifications go to the log channel (add channels in config.yaml)")


def _state(
    name: str, source: Path, data: Mapping[str, Any], stype: str | None, d: _Draft
) -> TaskState:
    """last_run.json: the old counters and last run, so the history goes on from them."""
    changes: dict[str, Any] = {}
    raw_last = data.get("last_run")
    if raw_last is not None:
        when = _timestamp(raw_last)
        if when is None:
            d.keep("last_run", raw_last, "not a timestamp")
        else:
            changes["last_run"] = when
    for key in ("run_count", "success_count", "failure_count"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            changes[key] = value
        else:
            d.keep(key, value, "not a count")
    status = data.get("last_status")
    if isinstance(status, str):
        changes["last_status"] = status
    elif status is not None:
        d.keep("last_status", status)
    ran = "last_run" in changes or changes.get("run_count", 0) > 0
    if stype == "once" and ran:
        changes["once_fired"] = True  # it ran: a once task never runs again
        d.notes.append("it has run once already: it will not run again")
    return TaskState(name, extra={MIGRATED_FROM: source.name}).replace(**changes)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.astimezone()


# -- doing ------------------------------------------------------------------------------------


@dataclass
class _Tally:
    migrated: int = 0
    there: int = 0
    failed: int = 0
    problems: int = 0


class _Out:
    """Where the lines go: task lines to ``out``, problems and refusals to ``err``."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err

    def line(self, text: str) -> None:
        print(inert(text), file=self.out)

    def problem(self, text: str) -> None:
        print(inert(text), file=self.err)


def problem_lines(task: Task) -> list[str]:
    """A task's problems as ``bassi-tui check`` prints them (task/file:line: message)."""
    lines = []
    for p in task.problems:
        if p.file == BASSI_FILE:
            lines.append(f"{p.location()}: {p.message} (in task {task.name})")
        else:
            lines.append(f"{task.name}/{p.location()}: {p.message}")
    return lines


def migrate_command(
    src: Path,
    tasks_dir: Path,
    *,
    dry_run: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Migrate every ``*.json`` task in ``src`` into ``tasks_dir``; the exit code.

    0: every task migrated or already there; 1: some could not be, or a folder has problems
    as ``check`` sees them; 2: ``src`` is not there or cannot be read. ``tasks_dir`` must exist
    (the command line checks it) unless ``dry_run``.
    """
    say = _Out(out or sys.stdout, err or sys.stderr)
    if not src.exists():
        say.problem(f"bassi-tui migrate: no older JSON tasks at {src} (nothing to migrate)")
        return EXIT_USAGE
    try:
        sources = list_sources(src)
    except OSError as exc:
        say.problem(f"bassi-tui migrate: cannot read {src}: {exc.strerror or exc}")
        return EXIT_USAGE
    if not sources:
        say.line(f"no *.json task files in {src}: nothing to migrate")
        return EXIT_OK
    defaults: Defaults | None = None
    if tasks_dir.is_dir():
        _, settings, settings_problems = read_settings(tasks_dir)
        defaults = None if settings_problems else settings.defaults
        for p in settings_problems:  # as check prints them; the tasks are checked without them
            say.problem(f"{p.location()}: {p.message} (tasks checked without its defaults)")
    tally = _Tally()
    names = folder_names(sources)
    verb = "would migrate" if dry_run else "migrated"
    for source in sources:
        name = names[source]
        label = f"{source.name} -> {name}"
        target = tasks_dir / name
        if os.path.lexists(target):
            _existing(source, target, label, defaults, say, tally)
            continue
        try:
            plan = plan_task(source, read_old_task(source), name)
        except NotMigratable as exc:
            say.problem(f"not migrated  {source.name}: {exc}")
            tally.failed += 1
            continue
        if dry_run:
            problems, schedule = _check_in_memory(plan, target, defaults)
        else:
            try:
                _write_folder(plan, tasks_dir, target)
            except FileExistsError:  # made meanwhile by someone else: theirs, left alone
                _existing(source, target, label, defaults, say, tally)
                continue
            except OSError as exc:
                say.problem(f"not migrated  {label}: cannot write: {exc.strerror or exc}")
                tally.failed += 1
                continue
            task = load_task(target, defaults)
            problems, schedule = problem_lines(task), task.schedule
        say.line(f"{verb}  {label}: {_details(plan, schedule)}")
        for text in problems:
            say.problem(text)
        tally.migrated += 1
        tally.problems += bool(problems)
    failed = bool(tally.failed or tally.problems)
    summary = (
        f"{len(sources)} file(s): {tally.migrated} {verb}, {tally.there} already there, "
        f"{tally.failed} not migrated, {tally.problems} with problems"
    )
    if dry_run:
        summary += " (dry run: nothing written)"
    (say.problem if failed else say.line)(summary)
    return EXIT_FAILED if failed else EXIT_OK


def _existing(
    source: Path,
    target: Path,
    label: str,
    defaults: Defaults | None,
    say: _Out,
    tally: _Tally,
) -> None:
    """A folder of that name exists: left alone; checked when this file made it."""
    if not _made_from(target, source):
        say.problem(
            f"exists  {label}: exists, left alone; it was not made from {source.name}, "
            f"so that task is not migrated (rename one of them and run again)"
        )
        tally.failed += 1
        return
    say.line(f"exists  {label}: exists, left alone")
    tally.there += 1
    problems = problem_lines(load_task(target, defaults))
    for text in problems:
        say.problem(text)
    tally.problems += bool(problems)


def _made_from(folder: Path, source: Path) -> bool:
    """True when ``folder`` says it was migrated from a file named like ``source``."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    with contextlib.suppress(OSError, ValueError):
        raw = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        if isinstance(raw, dict) and raw.get(MIGRATED_FROM) == source.name:
            return True
    with contextlib.suppress(OSError, UnicodeDecodeError):
        with (folder / SCHEDULE_FILE).open(encoding="utf-8") as fh:
            head = fh.readline().rstrip("\n")
        return head.startswith(MARKER) and head.endswith("/" + inert(source.name))
    return False


def _write_folder(plan: Plan, tasks_dir: Path, target: Path) -> None:
    """Build the folder as a dot folder (ignored by the app), then rename it into place.

    FileExistsError when ``target`` appeared meanwhile (it is never replaced but when empty).
    """
    building = tasks_dir / f".migrating-{os.getpid()}-{secrets.token_hex(4)}"
    building.mkdir()
    try:
        for file, data in plan.file_bytes().items():
            atomic_write_bytes(building / file, data)
        write_state(building, plan.state)  # the store's one writer of last_run.json, atomic
        if os.path.lexists(target):
            raise FileExistsError(target)
        try:
            os.rename(building, target)  # replaces nothing but an empty folder
        except OSError as exc:
            if os.path.lexists(target):
                raise FileExistsError(target) from exc
            raise
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    with contextlib.suppress(OSError):  # the rename itself, durable
        fd = os.open(tasks_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _check_in_memory(
    plan: Plan, target: Path, defaults: Defaults | None
) -> tuple[list[str], Schedule | None]:
    """What ``check`` would say of the folder, from the planned text (a dry run writes none)."""
    schedule, problems = parse_schedule(plan.name, plan.schedule_text)
    found: list[TaskProblem] = list(problems)
    if not plan.prompt_text.strip():
        found.append(
            TaskProblem(
                plan.name, PROMPT_FILE, None, "prompt.txt is empty; expected the prompt text"
            )
        )
    text = plan.config_text
    if text is None and defaults is not None:
        text = ""
    if text is not None:
        found.extend(parse_config(plan.name, text, defaults=defaults)[1])
    task = Task(name=plan.name, path=target, schedule=schedule, problems=tuple(found))
    return problem_lines(task), schedule


def _details(plan: Plan, schedule: Schedule | None) -> str:
    """The rest of a task's line: the schedule in words, the history, what went into comments."""
    from bassi_tui.scheduler.describe import describe_schedule

    parts = [
        "schedule has problems (below)"
        if schedule is None
        else describe_schedule(schedule) + ("" if schedule.enabled else " (disabled)")
    ]
    state = plan.state
    history = [f"{state.run_count} run(s)"] if state.run_count else []
    if state.last_run is not None:
        history.append(f"the last at {state.last_run.isoformat(timespec='minutes')}")
    if history:
        parts.append(", ".join(history) + " carried over")
    parts.extend(plan.notes)
    if plan.kept:
        parts.append("kept as comments: " + ", ".join(plan.kept))
    return "; ".join(parts)
