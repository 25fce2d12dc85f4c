"""Shared pieces of schedule.yaml and config.yaml validation.

A :class:`Report` collects problems for one file; :func:`fields` checks a mapping's keys (unknown
ones get a "did you mean"); the ``read_*`` helpers check one value each. Every helper reports
what was expected and returns ``None`` when the value is unusable, so callers keep going and
find every problem in one pass.

Shared rule: an optional key with an empty value (``key:`` or ``key: null``) means "use the
default", so commenting out everything under ``notify:`` does what a person expects.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bassi_tui.store.models import TaskProblem
from bassi_tui.store.yamlio import YamlError, YMap, YNode, YScalar, YSeq, kind, load_yaml

S = TypeVar("S", bound=str)
T = TypeVar("T")


@dataclass
class Report:
    """Problems found in one file of one task."""

    task: str
    file: str
    problems: list[TaskProblem] = field(default_factory=list)
    suggested: set[str] = field(default_factory=set)
    """Keys offered as "did you mean"; a missing-key problem for them would say it twice."""

    def add(self, line: int | None, message: str) -> None:
        """Record one problem at ``line`` (1-based, or None for the whole file)."""
        self.problems.append(TaskProblem(self.task, self.file, line, message))

    def sorted(self) -> list[TaskProblem]:
        """Problems in file order; whole-file problems (no line) first."""
        return sorted(self.problems, key=lambda p: -1 if p.line is None else p.line)


@dataclass(frozen=True, slots=True)
class Field:
    """A key that is present in a mapping: its name, the key's line and the value node."""

    name: str
    line: int
    node: YNode

    @property
    def is_null(self) -> bool:
        """True when the key has no value (``key:``, ``key: ~``)."""
        return isinstance(self.node, YScalar) and self.node.is_null


def given(got: dict[str, Field], name: str) -> Field | None:
    """The field if it has a value; an empty optional key means "use the default"."""
    f = got.get(name)
    return None if f is None or f.is_null else f


def opt(got: dict[str, Field], name: str, read: Callable[[Field], T | None], default: T) -> T:
    """Read an optional key with ``read``; absent, empty or invalid gives ``default``."""
    f = given(got, name)
    value = read(f) if f is not None else None
    return default if value is None else value


def load_mapping(text: str, report: Report, *, empty_message: str | None) -> YMap | None:
    """Parse ``text`` as a top-level mapping, reporting YAML errors into ``report``.

    An empty document gives an empty mapping, or a problem when ``empty_message`` is set.
    """
    try:
        node = load_yaml(text)
    except YamlError as exc:
        report.add(exc.line, exc.message)
        return None
    if node is None or (isinstance(node, YScalar) and node.is_null):
        if empty_message is not None:
            report.add(None, empty_message)
            return None
        return YMap((), 1)
    if not isinstance(node, YMap):
        report.add(node.line, f"expected a mapping of `key: value` lines, got {kind(node)}")
        return None
    return node


def close_match(name: str, allowed: Iterable[str]) -> str | None:
    """The allowed word ``name`` is most likely a typo of, if any."""
    close = difflib.get_close_matches(name.lower(), list(allowed), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(name: str, allowed: Iterable[str]) -> str:
    """`` (did you mean 'time'?)`` when ``name`` looks like a typo of an allowed word, or ``""``."""
    close = close_match(name, allowed)
    return f" (did you mean '{close}'?)" if close else ""


def fields(
    mapping: YMap,
    allowed: Sequence[str],
    report: Report,
    *,
    prefix: str = "",
    elsewhere: dict[str, str] | None = None,
) -> dict[str, Field]:
    """Index ``mapping`` by key, reporting unknown and duplicate keys.

    ``prefix`` (e.g. ``"notify."``) goes in front of key names in messages. ``elsewhere`` maps a
    key that is valid in some other context to a reason it is wrong here, so ``day:`` under a
    daily schedule says so instead of calling ``day`` unknown.
    """
    found: dict[str, Field] = {}
    expected = ", ".join(allowed)
    for key, value in mapping.entries:
        # Match on the key's source text: YAML 1.1 would turn a key like `on:` into True.
        name = key.raw
        if name in found:
            report.add(
                key.line, f"duplicate key '{prefix}{name}' (first on line {found[name].line})"
            )
            continue
        if name not in allowed:
            if elsewhere is not None and name in elsewhere:
                report.add(key.line, f"{elsewhere[name]}; expected one of: {expected}")
            else:
                close = close_match(name, allowed)
                hint = ""
                if close is not None:
                    hint = f" (did you mean '{close}'?)"
                    report.suggested.add(prefix + close)
                report.add(
                    key.line, f"unknown key '{prefix}{name}'{hint}; expected one of: {expected}"
                )
            continue
        found[name] = Field(name, key.line, value)
    return found


def shown(node: YNode) -> str:
    """How to quote a bad value in a message: its source text for scalars, its kind otherwise."""
    if isinstance(node, YScalar) and not node.is_null:
        text = node.raw if len(node.raw) <= 40 else node.raw[:37] + "..."
        return repr(text)
    return kind(node)


def _quoted(node: YNode) -> str:
    """A hint when a number or boolean was written in quotes, which makes it a string."""
    if not isinstance(node, YScalar) or not node.is_str:
        return ""
    text = node.raw.strip().lower()
    try:
        float(text)
    except ValueError:
        if text not in ("true", "false", "yes", "no", "on", "off"):
            return ""
    return " (a string: remove the quotes)"


def read_bool(f: Field, report: Report, label: str) -> bool | None:
    """A YAML boolean (true/false, and YAML 1.1's yes/no/on/off)."""
    if isinstance(f.node, YScalar) and isinstance(f.node.value, bool):
        return f.node.value
    report.add(f.line, f"{label}: expected true or false, got {shown(f.node)}{_quoted(f.node)}")
    return None


def read_number(
    f: Field, report: Report, label: str, *, minimum: float, strict: bool = False
) -> float | None:
    """A finite int or float >= ``minimum`` (> when ``strict``)."""
    value = f.node.value if isinstance(f.node, YScalar) else None
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)  # bool is an int subclass; `timeout: yes` is a mistake
        and math.isfinite(value)
        and (value > minimum if strict else value >= minimum)
    ):
        return float(value)
    report.add(f.line, f"{label}: expected a number {bound}, got {shown(f.node)}{_quoted(f.node)}")
    return None


def read_int(
    f: Field, report: Report, label: str, *, minimum: int, maximum: int | None = None
) -> int | None:
    """A whole number in ``minimum..maximum``."""
    value = f.node.value if isinstance(f.node, YScalar) else None
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= minimum
        and (maximum is None or value <= maximum)
    ):
        return value
    bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
    report.add(
        f.line, f"{label}: expected a whole number {bound}, got {shown(f.node)}{_quoted(f.node)}"
    )
    return None


def read_str(f: Field, report: Report, label: str, *, non_empty: bool = False) -> str | None:
    """A YAML string (quoted or plain text); numbers and booleans are refused."""
    if isinstance(f.node, YScalar) and isinstance(f.node.value, str):
        if non_empty and not f.node.value.strip():
            report.add(f.line, f"{label}: expected a non-empty string")
            return None
        return f.node.value
    report.add(f.line, f"{label}: expected a string, got {shown(f.node)}")
    return None


def read_choice(f: Field, report: Report, label: str, choices: Sequence[S]) -> S | None:
    """One of ``choices``, case-insensitive, with a suggestion for near misses."""
    if isinstance(f.node, YScalar) and not f.node.is_null:
        word = f.node.raw.strip().lower()
        for choice in choices:
            if word == choice:
                return choice
        hint = suggest(word, choices)
    else:
        hint = ""
    report.add(f.line, f"{label}: {shown(f.node)} is not one of {', '.join(choices)}{hint}")
    return None


def read_argv(f: Field, report: Report, label: str, example: str) -> tuple[str, ...] | None:
    """An argv list of non-empty strings, run without a shell (``command``, ``expect.command``,
    ``when.command``); ``example`` shows one in messages. Arguments may hold secrets: a bad
    one is named by its number, never shown."""
    if not isinstance(f.node, YSeq):
        report.add(
            f.line,
            f"{label}: expected a list (argv), {example}; got {kind(f.node)}",
        )
        return None
    if not f.node.items:
        report.add(
            f.line,
            f"{label}: empty list; expected the program and its arguments, {example}",
        )
        return None
    argv: list[str] = []
    for number, item in enumerate(f.node.items, start=1):
        if isinstance(item, YScalar) and not item.is_null and item.raw:
            argv.append(item.raw)
        else:
            report.add(
                item.line,
                f"{label}: argument {number} is {kind(item)}; expected a non-empty string",
            )
    return tuple(argv) if len(argv) == len(f.node.items) else None
