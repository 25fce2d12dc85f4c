"""Change detection: counts, stats, diffs, and big outputs without difflib."""

from __future__ import annotations

import difflib
import random

import pytest

from bassi_tui.notify import changes
from bassi_tui.notify.changes import Change, compare, diff_lines


def test_three_runs_first_then_unchanged_then_changed() -> None:
    first = "Report\nTotal: 3\nEnd\n"
    second = first
    third = "Report\nTotal: 4\nNew line\nEnd\n"
    runs = [compare(None, first), compare(first, second), compare(second, third)]
    assert runs == [Change(None), Change(False), Change(True, added=2, removed=1)]
    assert [c.stat for c in runs] == ["first run", "unchanged", "+2 −1 lines"]


def test_only_removed_lines() -> None:
    change = compare("a\nb\nc\nd\n", "a\nd\n")
    assert (change.changed, change.added, change.removed) == (True, 0, 2)
    assert change.stat == "+0 −2 lines"


def test_line_endings_only() -> None:
    change = compare("a\nb\n", "a\r\nb")
    assert change == Change(True, 0, 0)
    assert change.stat == "changed, same lines"
    assert diff_lines("a\nb\n", "a\r\nb") == [
        "no lines added or removed: only line endings or the final newline differ"
    ]


def test_diff_lines_is_a_unified_diff() -> None:
    old = "".join(f"line {n}\n" for n in range(1, 21))
    new = old.replace("line 5\n", "line five\n").replace("line 18\n", "")
    assert diff_lines(old, new, context=1) == [
        "--- previous",
        "+++ current",
        "@@ -4,3 +4,3 @@",
        " line 4",
        "-line 5",
        "+line five",
        " line 6",
        "@@ -17,3 +17,2 @@",
        " line 17",
        "-line 18",
        " line 19",
    ]
    assert diff_lines(old, old) == []


def test_diff_lines_match_difflib_on_random_edits() -> None:
    """Skipping the common ends changes nothing but speed: with unique lines (one possible
    alignment) the hunks are difflib's; with repeated ones applying the diff gives the new
    text, and its +/- lines are compare()'s counts."""
    rnd = random.Random(7)
    for _ in range(500):
        unique = rnd.random() < 0.5
        size = rnd.randrange(40)
        old = (
            [str(n) for n in rnd.sample(range(1000), size)]
            if unique
            else [str(rnd.randrange(5)) for _ in range(size)]
        )
        new = list(old)
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randint(0, len(new))
            if rnd.random() < 0.5 and at < len(new):
                del new[at]
            else:
                new.insert(at, f"new {rnd.random()}")
        a, b = "\n".join(old), "\n".join(new)
        if a == b:
            continue
        context = rnd.randint(0, 4)
        got = diff_lines(a, b, context=context)
        want = list(difflib.unified_diff(old, new, "previous", "current", n=context, lineterm=""))
        if unique:
            assert got == want
        assert _apply(old, got) == new
        change = compare(a, b)
        assert change.added == sum(1 for line in got[2:] if line.startswith("+"))
        assert change.removed == sum(1 for line in got[2:] if line.startswith("-"))


def _apply(old: list[str], diff: list[str]) -> list[str]:
    """Apply a unified diff (as diff_lines gives it) to ``old``."""
    out: list[str] = []
    at = 0
    for line in diff[2:]:
        if line.startswith("@@"):
            # "-4,3": from line 4; "-4,0": nothing, after line 4.
            start, _, length = line.split()[1][1:].partition(",")
            first = int(start) if length == "0" else int(start) - 1
            out.extend(old[at:first])
            at = first
        elif line.startswith("+"):
            out.append(line[1:])
        else:
            at += 1
            if line.startswith(" "):
                out.append(line[1:])
    return out + old[at:]


def test_diff_lines_are_inert_cut_and_bounded() -> None:
    old = "keep\n"
    new = "keep\n\x1b[2Jgone\tx\n" + "y" * 5000 + "\n" + "".join(f"{n}\n" for n in range(50))
    lines = diff_lines(old, new, limit=10)
    assert len(lines) == 10
    assert lines[4] == "+\\x1b[2Jgone\tx"
    assert len(lines[5]) == 1 + changes.LINE_MAX and lines[5].endswith("…")
    assert lines[-1] == "… 47 more diff lines not shown"
    assert all("\x1b" not in line and "\n" not in line for line in lines)


def test_a_small_change_in_a_huge_output_is_still_diffed() -> None:
    lines = [f"row {n}: {n * 7}" for n in range(300_000)]
    old = "\n".join(lines)
    new = old.replace("row 150000: 1050000", "row 150000: 0")
    assert compare(old, new) == Change(True, 1, 1)
    assert diff_lines(old, new, context=0) == [
        "--- previous",
        "+++ current",
        "@@ -150001 +150001 @@",
        "-row 150000: 1050000",
        "+row 150000: 0",
    ]


def test_big_compare_counts_with_a_multiset(monkeypatch: pytest.MonkeyPatch) -> None:
    """10 MB, changed at both ends so the middle is huge: counted without difflib."""

    def no_difflib(*args: object) -> None:
        raise AssertionError("difflib used on a huge input")

    monkeypatch.setattr(changes, "_matcher", no_difflib)
    rnd = random.Random(3)
    lines = [f"{n:08d} {rnd.random():.12f} some report text here" for n in range(250_000)]
    old = "\n".join(lines)
    assert len(old) > 10 * 1024 * 1024
    new_lines = ["new first line", *lines[1:]]
    new_lines[100_000:100_003] = []  # 3 removed in the middle
    new_lines.extend(["added 1", "added 2"])
    new = "\n".join(new_lines)
    change = compare(old, new)
    assert change == Change(True, added=3, removed=4)
    assert change.stat == "+3 −4 lines"
    assert diff_lines(old, new) == ["diff too large to show: +3 −4 lines"]
    # Order-blind by design: moving lines around counts nothing.
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert compare(old, "\n".join(shuffled)) == Change(True, 0, 0)
    assert compare(old, old + "") == Change(False)
