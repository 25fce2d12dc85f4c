"""config.yaml ``expect:``: the checks a successful run's output must pass.

::

    expect:
      contains: "Total revenue"        # a string or a list of strings, all must occur
      not_contains: [ERROR, Traceback] # none may occur
      regex: '^Total: \\d+'            # each must match somewhere (^ and $ work per line)
      min_chars: 100                   # length of the output, outer whitespace not counted
      max_chars: 20000
      json: true                       # the output must parse as JSON (implied by format json)
      command: [python3, check.py]     # gets the output on stdin, runs in the task folder

Like every other key, a bad value is reported (with the line of the value, so a list's third
item points at its own line) and left out; the rest of ``expect:`` still applies. Regexes are
compiled here, with the flags the check uses (:data:`REGEX_FLAGS`), so a broken one is found by
``bassi-tui check`` rather than at 3 a.m.

Texts are taken from their source (``contains: 1.10`` looks for ``1.10``, not ``1.1``), as
``command:`` arguments are. Empty strings are refused: they would match everything, or nothing.
"""

from __future__ import annotations

import re

from bassi_tui.store.models import ExpectConfig
from bassi_tui.store.parse_common import Field, Report, fields, opt, read_argv, read_bool, read_int
from bassi_tui.store.yamlio import YMap, YScalar, YSeq, kind

__all__ = ["EXPECT_KEYS", "REGEX_FLAGS", "read_expect", "read_texts"]

EXPECT_KEYS = ("contains", "not_contains", "regex", "min_chars", "max_chars", "json", "command")

REGEX_FLAGS = re.MULTILINE
"""Flags every ``expect.regex`` is compiled with: ``^``/``$`` match at each line, since outputs
are reports of many lines. Other flags go inline: ``(?i)total``, ``(?s)begin.*end``."""

_COMMAND_EXAMPLE = 'e.g. ["python3", "check.py"]'
_SHOWN_MAX = 40


def read_expect(f: Field, report: Report) -> ExpectConfig | None:
    """``expect:``, a mapping of checks; ``None`` (use the default: no checks) if not a mapping."""
    if not isinstance(f.node, YMap):
        report.add(
            f.line, f"expect: expected a mapping of {', '.join(EXPECT_KEYS)}, got {kind(f.node)}"
        )
        return None
    got = fields(f.node, EXPECT_KEYS, report, prefix="expect.")
    d = ExpectConfig()
    min_chars = opt(
        got, "min_chars", lambda x: read_int(x, report, "expect.min_chars", minimum=0), None
    )
    max_chars = opt(
        got, "max_chars", lambda x: read_int(x, report, "expect.max_chars", minimum=0), None
    )
    if min_chars is not None and max_chars is not None and min_chars > max_chars:
        # Reported at max_chars and both dropped: which one is wrong is the user's call, and a
        # check that can never pass must not fail every run meanwhile.
        report.add(
            got["max_chars"].line,
            f"expect.max_chars: {max_chars} is less than expect.min_chars {min_chars} "
            f"(line {got['min_chars'].line}); no output could pass",
        )
        min_chars = max_chars = None
    return ExpectConfig(
        contains=opt(got, "contains", lambda x: read_texts(x, report), d.contains),
        not_contains=opt(got, "not_contains", lambda x: read_texts(x, report), d.not_contains),
        regex=opt(got, "regex", lambda x: _regexes(x, report), d.regex),
        min_chars=min_chars,
        max_chars=max_chars,
        json=opt(got, "json", lambda x: read_bool(x, report, "expect.json"), d.json),
        command=opt(
            got,
            "command",
            lambda x: read_argv(x, report, "expect.command", _COMMAND_EXAMPLE),
            d.command,
        ),
    )


def _shown(text: str) -> str:
    """A value quoted in a message: cut, and with control characters escaped by repr()."""
    return repr(text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "...")


def _text_lines(f: Field, report: Report, prefix: str = "expect") -> list[tuple[str, int]] | None:
    """A key that takes "a string or a list of strings": each good string with its line.

    Bad items are reported and dropped; ``None`` when nothing usable is left of a non-empty
    value. ``[]`` gives ``[]``: nothing to check, which is what was written.
    """
    label = f"{prefix}.{f.name}"
    items = f.node.items if isinstance(f.node, YSeq) else (f.node,)
    if not items:
        return []
    good: list[tuple[str, int]] = []
    for item in items:
        if isinstance(item, YScalar) and not item.is_null and item.raw:
            good.append((item.raw, item.line))
        else:
            what = "an empty string" if isinstance(item, YScalar) and item.is_str else kind(item)
            report.add(item.line, f"{label}: expected a non-empty string, got {what}")
    return good or None


def read_texts(f: Field, report: Report, prefix: str = "expect") -> tuple[str, ...] | None:
    """One string or a list of them (``expect.contains``, ``when.file_exists``...)."""
    good = _text_lines(f, report, prefix)
    return None if good is None else tuple(text for text, _ in good)


def _regexes(f: Field, report: Report) -> tuple[str, ...] | None:
    """``regex``: like :func:`_texts`, and each one must compile."""
    candidates = _text_lines(f, report)
    if candidates is None:
        return None
    good: list[str] = []
    for pattern, line in candidates:
        try:
            re.compile(pattern, REGEX_FLAGS)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            report.add(
                line,
                f"expect.regex: {_shown(pattern)} is not a valid regular expression: "
                f"{exc.msg}{where}",
            )
        else:
            good.append(pattern)
    return tuple(good) if good or not candidates else None
