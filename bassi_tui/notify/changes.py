"""Change detection: how does this run's output differ from the last successful one's?

The caller reads the texts (this module never touches files) and gets a :class:`Change` from
:func:`compare`, for the card, the metadata and "tell me only when it changed" notifications,
and a unified diff from :func:`diff_lines`, for the viewer and a notification's head.

Texts are compared as lines (:meth:`str.splitlines`, so ``\\r\\n`` and ``\\n`` are the same
line break). Big outputs must stay cheap, so:

- identical texts are ``unchanged`` without being split;
- the lines both texts start and end with are skipped before anything is diffed: a report
  whose date line and one figure changed is diffed over those lines only, however long it is;
- when what is left is still large (over :data:`DIFF_MAX_LINES` lines or
  :data:`DIFF_MAX_CHARS` characters, together), :func:`compare` counts added and removed lines
  as the difference of two multisets of lines (a :class:`collections.Counter`, i.e. a hash
  table), which is linear, instead of :mod:`difflib`, which is not. The counts then ignore
  order: a line that only moved counts as neither added nor removed (difflib would count it as
  both). :func:`diff_lines` shows no diff then, only one line saying it is too large.

Both functions are CPU-bound and synchronous: for outputs of many megabytes, call them through
``asyncio.to_thread``.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bassi_tui.store.inert import inert, inert_output

__all__ = [
    "DIFF_MAX_CHARS",
    "DIFF_MAX_LINES",
    "LINE_MAX",
    "Change",
    "compare",
    "diff_files",
    "diff_lines",
]

DIFF_MAX_LINES = 20_000
"""Differing lines (old and new together, common ends skipped) above which no difflib is run."""

DIFF_MAX_CHARS = 4 * 1024 * 1024
"""Differing characters (likewise) above which no difflib is run."""

LINE_MAX = 1000
"""Characters of one line that :func:`diff_lines` shows; the rest is cut, toolong-style."""

_Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True, slots=True)
class Change:
    """How an output differs from the previous successful one.

    ``changed`` is ``None`` on a first run (nothing to compare with), else whether the texts
    differ at all; ``added``/``removed`` count lines.
    """

    changed: bool | None
    added: int = 0
    removed: int = 0

    @property
    def stat(self) -> str:
        """``"+3 −1 lines"``, ``"unchanged"`` or ``"first run"``, for a card or a notification."""
        if self.changed is None:
            return "first run"
        if not self.changed:
            return "unchanged"
        if not (self.added or self.removed):
            # Only line endings or a final newline differ (or, for big texts, only the order).
            return "changed, same lines"
        return f"+{self.added} −{self.removed} lines"


def compare(previous: str | None, current: str) -> Change:
    """How ``current`` differs from ``previous`` (``None``: there was no previous run)."""
    if previous is None:
        return Change(None)
    if previous == current:
        return Change(False)
    old, new, _ = _middles(previous.splitlines(), current.splitlines())
    if _too_big(old, new):
        added, removed = _multiset_counts(old, new)
    else:
        added = removed = 0
        for tag, i1, i2, j1, j2 in _matcher(old, new).get_opcodes():
            if tag != "equal":
                removed += i2 - i1
                added += j2 - j1
    return Change(True, added, removed)


def diff_lines(
    previous: str,
    current: str,
    *,
    context: int = 3,
    limit: int = 2000,
    from_name: str = "previous",
    to_name: str = "current",
) -> list[str]:
    """A unified diff of two outputs as at most ``limit`` inert lines (no line breaks).

    ``[]`` when the texts are equal; a single explanatory line when only line endings differ
    or when the differing part is too large to diff (module docstring). Lines longer than
    :data:`LINE_MAX` are cut; a diff longer than ``limit`` ends with a line saying how many
    more there were.
    """
    if previous == current:
        return []
    a, b = previous.splitlines(), current.splitlines()
    old, new, start = _middles(a, b)
    if _too_big(old, new):
        added, removed = _multiset_counts(old, new)
        return [f"diff too large to show: {Change(True, added, removed).stat}"]
    if not old and not new:
        return ["no lines added or removed: only line endings or the final newline differ"]
    # The middle's opcodes, moved back to whole-text positions, between the common ends.
    ops: list[_Opcode] = [("equal", 0, start, 0, start)] if start else []
    ops += [
        (tag, i1 + start, i2 + start, j1 + start, j2 + start)
        for tag, i1, i2, j1, j2 in _matcher(old, new).get_opcodes()
    ]
    if start + len(old) < len(a):
        ops.append(("equal", start + len(old), len(a), start + len(new), len(b)))
    out = [f"--- {inert(from_name)}", f"+++ {inert(to_name)}"]
    for group in _grouped(ops, max(context, 0)):
        first, last = group[0], group[-1]
        out.append(
            f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@",
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + _shown(line) for line in a[i1:i2])
                continue
            out.extend("-" + _shown(line) for line in a[i1:i2])
            out.extend("+" + _shown(line) for line in b[j1:j2])
    if len(out) > limit:
        keep = max(limit - 1, 0)
        out = [*out[:keep], f"… {len(out) - keep} more diff lines not shown"]
    return out


def _middles(a: list[str], b: list[str]) -> tuple[list[str], list[str], int]:
    """The parts of ``a`` and ``b`` between their common first and last lines, and the start.

    Linear, and what makes a small change in a huge output cheap to diff.
    """
    shortest = min(len(a), len(b))
    start = 0
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start : len(a) - end], b[start : len(b) - end], start


def _too_big(old: Sequence[str], new: Sequence[str]) -> bool:
    if len(old) + len(new) > DIFF_MAX_LINES:
        return True
    return sum(map(len, old)) + sum(map(len, new)) > DIFF_MAX_CHARS


def _multiset_counts(old: Sequence[str], new: Sequence[str]) -> tuple[int, int]:
    """(added, removed) as multiset differences: linear, order-blind (module docstring)."""
    before, after = Counter(old), Counter(new)
    return (after - before).total(), (before - after).total()


def _matcher(old: Sequence[str], new: Sequence[str]) -> difflib.SequenceMatcher[str]:
    # autojunk (difflib's default, as in unified_diff) keeps very common lines such as blank
    # ones from making the match quadratic.
    return difflib.SequenceMatcher(None, old, new)


def _shown(line: str) -> str:
    """One line as the diff shows it: cut, with control characters escaped (tabs kept)."""
    return inert_output(line if len(line) <= LINE_MAX else line[: LINE_MAX - 1] + "…")


def _range(start: int, stop: int) -> str:
    """A hunk range in unified-diff notation (as difflib writes it)."""
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1 if length else start},{length}"


def _grouped(ops: list[_Opcode], n: int) -> Iterator[list[_Opcode]]:
    """Opcodes in hunks with ``n`` lines of context: difflib's get_grouped_opcodes, for opcodes
    that did not come from one SequenceMatcher (the common ends were never given to one)."""
    codes = list(ops)
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    group: list[_Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        # An equal run longer than both contexts ends one hunk and starts the next.
        if tag == "equal" and i2 - i1 > 2 * n:
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


#: Outputs larger than this are not diffed line by line (their comparison is byte for byte).
DIFF_FILE_MAX_BYTES = 8 * 1024 * 1024


def diff_files(
    older: Path, newer: Path, *, older_name: str, newer_name: str, limit: int = 2000
) -> list[str] | str:
    """The diff of two result files as :func:`diff_lines` gives it (blocking: call in a
    thread), or a sentence saying why there is none (unchanged, too large, unreadable)."""
    try:
        if max(older.stat().st_size, newer.stat().st_size) > DIFF_FILE_MAX_BYTES:
            return f"Too large to compare line by line (over {DIFF_FILE_MAX_BYTES // 2**20} MB)."
        old = older.read_bytes().decode("utf-8", "replace")
        new = newer.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        return f"Cannot read a result to compare: {exc.strerror or exc}"
    if not compare(old, new).changed:
        return f"No change since the run of {older_name}."
    return diff_lines(old, new, limit=limit, from_name=older_name, to_name=newer_name)
