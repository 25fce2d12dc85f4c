"""What a notification says: the facts of the run, a bounded glimpse, and nothing that acts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bassi_tui.notify.message import build_message, head, message_for_run
from bassi_tui.store.records import RunRecord

START = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)


def test_a_failure_says_which_task_what_when_how_long_and_why() -> None:
    m = build_message(
        "weekly-report",
        "failure",
        "timeout",
        start=START,
        duration=600.0,
        error="timed out after 600 s",
        output="partial line 1\npartial line 2\n",
        result_file="/tasks/weekly-report/results/2025-01-13_09-00-00.txt",
    )
    assert m.title == "bassi-tui: weekly-report timed out"
    assert m.body.splitlines() == [
        "Task: weekly-report",
        "What: failure (timeout)",
        "When: 2025-01-13 09:00:00+00:00",
        "Took: 10 min 0 s",
        "Error:",
        "  timed out after 600 s",
        "Output (first lines):",
        "  partial line 1",
        "  partial line 2",
        "Result: /tasks/weekly-report/results/2025-01-13_09-00-00.txt",
    ]
    data = m.to_json()
    assert (data["task"], data["reason"], data["status"], data["duration"]) == (
        "weekly-report",
        "failure",
        "timeout",
        600.0,
    )
    assert data["result_file"].endswith("09-00-00.txt") and data["title"] == m.title


def test_titles_per_reason() -> None:
    def title(reason: str, status: str, missed: int = 1) -> str:
        return build_message("t", reason, status, missed=missed).title  # type: ignore[arg-type]

    assert title("failure", "check_failed") == "bassi-tui: t failed its checks"
    assert title("failure", "interrupted") == "bassi-tui: t was interrupted"
    assert title("recovery", "success") == "bassi-tui: t recovered"
    assert title("change", "success") == "bassi-tui: t changed"
    assert title("success", "success") == "bassi-tui: t succeeded"
    assert title("missed", "missed", 3) == "bassi-tui: t missed 3 runs"


def test_output_is_cut_to_ten_lines_and_a_thousand_characters() -> None:
    many = "\n".join(f"line {n}" for n in range(1, 50))
    m = build_message("t", "success", "success", output=many)
    assert m.output_head is not None
    assert m.output_head.splitlines() == [f"line {n}" for n in range(1, 11)] + ["..."]
    long = build_message("t", "success", "success", output="x" * 50_000).output_head
    assert long is not None and len(long) == 1000 + len("\n...")
    assert head("a\nb\n", 10, 1000) == "a\nb"


def test_a_diff_head_only_for_a_change() -> None:
    diff = "--- before\n+++ after\n-old\n+new\n"
    assert build_message("t", "change", "success", diff=diff).diff_head == diff.strip()
    assert "Change:\n  --- before" in build_message("t", "change", "success", diff=diff).body
    assert build_message("t", "failure", "failed", diff=diff).diff_head is None


def test_every_field_is_inert() -> None:
    evil = "evil\x1b]0;pwned\x07\x1b[2J\r\nFAKE\u2028x\x9b"
    m = build_message(evil, "failure", "failed", error=evil, output=evil, result_file=evil)
    for text in (m.title, m.body, m.task, m.error or "", m.output_head or "", m.result_file or ""):
        assert not any(c in text for c in "\x1b\x07\r\u2028\x9b"), text
    assert "\n" not in m.title and "\n" not in m.task


def test_secrets_are_masked_from_error_and_output() -> None:
    m = build_message(
        "t", "failure", "failed", error="auth sk-live-123456 refused", output="key=sk-live-123456"
    )
    assert "sk-live" in m.body  # nothing to mask without secrets
    m = build_message(
        "t",
        "failure",
        "failed",
        error="auth sk-live-123456 refused",
        output="key=sk-live-123456",
        secrets=["sk-live-123456"],
    )
    assert "sk-live" not in m.body and "auth *** refused" in m.body


def test_message_for_a_recorded_run(tmp_path: Path) -> None:
    record = RunRecord(
        meta_file=tmp_path / "results" / "x.json",
        output_file=tmp_path / "results" / "x.txt",
        task_name="nightly",
        status="failed",
        start=START,
        duration=3.25,
        error="exit 2",
    )
    m = message_for_run(record, "failure", output="Traceback...")
    assert m.title == "bassi-tui: nightly failed"
    assert "Took: 3.2 s" in m.body and "Error:\n  exit 2" in m.body
    assert m.result_file == str(tmp_path / "results" / "x.txt")
