"""Result checks: each kind passes and fails with its exact reason; the check command's
process group never outlives it."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from bassi_tui.notify import checks
from bassi_tui.notify.checks import THREAD_AT, check_output
from bassi_tui.store.models import ExpectConfig


async def check(
    text: str,
    *,
    output_format: str = "text",
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    **expect: object,
) -> str | None:
    return await check_output(
        ExpectConfig(**expect),  # type: ignore[arg-type]
        text,
        output_format=output_format,
        cwd=cwd or Path.cwd(),
        env=env,
        timeout=timeout,
    )


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (dead, not yet reaped by its new parent) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_soon(pid: int) -> bool:
    """Whether ``pid`` is dead within a few seconds (SIGKILL is not instant, reaping neither)."""
    deadline = time.monotonic() + 5
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


async def test_no_checks_pass() -> None:
    assert await check("") is None


async def test_char_bounds() -> None:
    assert await check("x" * 12, min_chars=12, max_chars=12) is None
    # Outer whitespace is not counted.
    assert await check("  hello world \n\n", min_chars=100) == (
        "expect.min_chars: 11 chars, at least 100 expected"
    )
    assert await check("x" * 5000, max_chars=4000) == (
        "expect.max_chars: 5000 chars, at most 4000 expected"
    )


async def test_contains() -> None:
    assert await check("Total revenue: 3", contains=("Total revenue", "3")) is None
    assert await check("Total: 3", contains=("Total", "Total revenue")) == (
        "expect.contains 'Total revenue' not found"
    )


async def test_not_contains_names_the_line() -> None:
    assert await check("all good", not_contains=("ERROR",)) is None
    text = "".join(f"line {n}\n" for n in range(1, 12)) + "ERROR: boom\n"
    assert await check(text, not_contains=("Traceback", "ERROR")) == (
        "expect.not_contains 'ERROR' found (line 12)"
    )


async def test_regex_matches_per_line() -> None:
    assert await check("Report\nTotal: 42\n", regex=(r"^Total: \d+$", "(?i)report")) is None
    assert await check("Report\nTotal: n/a\n", regex=(r"^Total: \d+",)) == (
        r"expect.regex '^Total: \d+' did not match"
    )


async def test_an_uncompiled_bad_regex_is_a_reason_not_a_crash() -> None:
    assert await check("x", regex=("(",)) == (
        "expect.regex '(' is not a valid regular expression: missing ), unterminated subpattern"
    )


async def test_json() -> None:
    assert await check('{"a": [1, 2]}', json=True) is None
    assert await check('{\n"a": 1,\n"b": 2\n "c"}', json=True) == (
        "expect.json: not valid JSON (line 4, column 2: Expecting ',' delimiter)"
    )
    assert await check("", json=True) == (
        "expect.json: not valid JSON (line 1, column 1: Expecting value)"
    )


async def test_json_is_implied_by_output_format_json() -> None:
    assert await check("not json", output_format="markdown") is None
    assert await check("not json", output_format="json") == (
        "expect.json: not valid JSON (line 1, column 1: Expecting value)"
    )
    assert await check("[1]", output_format="json") is None


async def test_first_failure_wins_cheapest_first() -> None:
    reason = await check("short", contains=("missing",), min_chars=100, json=True)
    assert reason == "expect.min_chars: 5 chars, at least 100 expected"


async def test_quoted_text_is_cut_and_inert() -> None:
    wanted = "\x1b]0;owned\x07" + "y" * 100
    reason = await check("x", contains=(wanted,))
    assert reason is not None
    assert reason.startswith("expect.contains '\\x1b]0;owned\\x07yyy")
    assert reason.endswith("…' not found")
    assert reason.isprintable()
    assert len(reason) < 100


async def test_big_text_is_checked_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = checks._content_reason

    def spy(expect: ExpectConfig, text: str, want_json: bool) -> str | None:
        seen.append(threading.current_thread() is threading.main_thread())
        return real(expect, text, want_json)

    monkeypatch.setattr(checks, "_content_reason", spy)
    big = "ok\n" * (THREAD_AT // 3 + 1)
    assert await check(big, contains=("ok",)) is None
    assert await check("small", contains=("small",)) is None
    assert await check("small", regex=("sm",)) is None  # a regex's cost has no bound
    assert seen == [False, True, False]


async def test_50_mb_output_is_checked() -> None:
    text = "a line of a long report\n" * (50 * 1024 * 1024 // 24) + "ERROR at the end\n"
    assert await check(text, contains=("report",), not_contains=("ERROR",)) == (
        f"expect.not_contains 'ERROR' found (line {text.count(chr(10))})"
    )


async def test_command_gets_the_output_in_the_task_folder_with_its_env(tmp_path: Path) -> None:
    (tmp_path / "marker").write_text("")
    script = 'test -f marker && test "$REGION" = eu && grep -q "^Total: 3$"'
    assert (
        await check(
            "Report\nTotal: 3\n", cwd=tmp_path, env={"REGION": "eu"}, command=("sh", "-c", script)
        )
        is None
    )


async def test_command_failure_quotes_the_last_stderr_line(tmp_path: Path) -> None:
    script = 'echo first >&2; echo "  total is 0, expected > 0  " >&2; echo; exit 3'
    assert await check("x", cwd=tmp_path, command=("sh", "-c", script)) == (
        "expect.command exited 3: total is 0, expected > 0"
    )
    # No stderr: stdout's last line; neither: the exit code alone.
    assert await check("x", cwd=tmp_path, command=("sh", "-c", "echo nope; exit 1")) == (
        "expect.command exited 1: nope"
    )
    assert await check("x", cwd=tmp_path, command=("false",)) == "expect.command exited 1"


async def test_command_stderr_is_masked_cut_and_inert(tmp_path: Path) -> None:
    script = 'printf "token %s \\033[2J %s\\n" "$TOKEN" "$(printf "z%.0s" $(seq 100))" >&2; exit 2'
    reason = await check(
        "x", cwd=tmp_path, env={"TOKEN": "s3cr3t-value"}, command=("sh", "-c", script)
    )
    assert reason is not None
    assert reason.startswith("expect.command exited 2: token *** \\x1b[2J zzz")
    assert "s3cr3t" not in reason and reason.isprintable() and reason.endswith("z…")


async def test_command_killed_by_a_signal(tmp_path: Path) -> None:
    assert await check("x", cwd=tmp_path, command=("sh", "-c", "kill -9 $$")) == (
        "expect.command was killed by signal SIGKILL"
    )


async def test_command_not_found_or_not_executable(tmp_path: Path) -> None:
    assert await check("x", cwd=tmp_path, command=("no-such-check-program", "-v")) == (
        "expect.command 'no-such-check-program' not found"
    )
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    assert await check("x", cwd=tmp_path, command=(str(script),)) == (
        f"expect.command '{script}' is not executable"
    )


async def test_command_runs_only_when_the_other_checks_pass(tmp_path: Path) -> None:
    command = ("sh", "-c", "touch ran")
    assert await check("x", cwd=tmp_path, contains=("y",), command=command) is not None
    assert not (tmp_path / "ran").exists()
    assert await check("y", cwd=tmp_path, contains=("y",), command=command) is None
    assert (tmp_path / "ran").exists()


async def test_big_output_to_a_command_that_reads_it_or_not(tmp_path: Path) -> None:
    text = "z" * (8 * 1024 * 1024)
    counting = ("sh", "-c", f'test "$(wc -c)" -eq {len(text)}')
    assert await check(text, cwd=tmp_path, command=counting) is None
    assert await check(text, cwd=tmp_path, command=("true",)) is None  # never reads stdin


# Starts a grandchild that ignores SIGTERM, as its parent does, and would outlive both.
_STUBBORN = "trap '' TERM; sleep 60 & echo $! > grandchild.pid; wait"


async def test_timeout_kills_the_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "KILL_GRACE", 0.2)
    reason = await check("x", cwd=tmp_path, timeout=0.5, command=("sh", "-c", _STUBBORN))
    assert reason == "expect.command timed out after 0.5 s"
    pid = int((tmp_path / "grandchild.pid").read_text())
    assert gone_soon(pid)


async def test_cancellation_kills_the_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "KILL_GRACE", 0.2)
    task = asyncio.create_task(check("x", cwd=tmp_path, command=("sh", "-c", _STUBBORN)))
    pid_file = tmp_path / "grandchild.pid"
    for _ in range(500):  # until the grandchild has started
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gone_soon(pid)


async def test_what_a_passing_check_left_running_is_killed(tmp_path: Path) -> None:
    script = "sleep 60 >/dev/null 2>&1 & echo $! > grandchild.pid"
    assert await check("x", cwd=tmp_path, command=("sh", "-c", script)) is None
    assert gone_soon(int((tmp_path / "grandchild.pid").read_text()))


async def test_missing_task_folder(tmp_path: Path) -> None:
    reason = await check("x", cwd=tmp_path / "gone", command=("true",))
    assert reason == f"expect.command: task folder '{tmp_path / 'gone'}' is missing"
