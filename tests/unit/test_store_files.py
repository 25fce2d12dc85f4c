"""Atomic writes, last_run.json, results/ and the enabled: edit, on the real filesystem."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bassi_tui.store.atomic import atomic_write_json, clean_stray_temps, temp_name_for
from bassi_tui.store.edit import with_enabled
from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.results import ResultWriter, list_results, prune_results
from bassi_tui.store.state import HISTORY_LIMIT, read_state, write_state

TZ = timezone(timedelta(hours=1))


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "last_run.json"
    target.write_text("old")
    atomic_write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last_run.json"]


def test_atomic_write_failure_leaves_target_and_no_temp(tmp_path: Path) -> None:
    # os.replace onto a non-empty folder fails after the temp file was written and fsynced.
    target = tmp_path / "busy"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(OSError):
        atomic_write_json(target, {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    assert (target / "inside").read_text() == "keep"


def test_clean_stray_temps_removes_only_temps(tmp_path: Path) -> None:
    temp = temp_name_for(tmp_path / "last_run.json")
    temp.write_text("half")
    (tmp_path / "prompt.txt").write_text("keep")
    (tmp_path / ".hidden").write_text("keep")
    removed = clean_stray_temps(tmp_path)
    assert removed == [temp]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "prompt.txt"]


def test_state_history_is_newest_first_and_capped(tmp_path: Path) -> None:
    state = TaskState(tmp_path.name)  # a task's name is its folder's
    start = datetime(2026, 1, 1, 9, 0, tzinfo=TZ)
    for i in range(HISTORY_LIMIT + 5):
        status = "success" if i % 2 == 0 else "failed"
        state = state.with_run(
            timestamp=start + timedelta(minutes=i),
            status=status,
            duration=1.5,
            result_file=f"r{i}.txt",
            error=None if status == "success" else "boom",
            next_run=None,
        )
    assert len(state.history) == HISTORY_LIMIT
    assert state.history[0].result_file == f"results/r{HISTORY_LIMIT + 4}.txt"
    assert state.run_count == HISTORY_LIMIT + 5
    assert state.success_count == 13 and state.failure_count == 12
    assert state.last_status == "success"
    assert state.history[1].error == "boom"
    write_state(tmp_path, state)
    assert read_state(tmp_path).state == state
    on_disk = json.loads((tmp_path / "last_run.json").read_text())
    assert on_disk["last_result_file"] == f"results/r{HISTORY_LIMIT + 4}.txt"
    assert on_disk["history"][0]["result_file"] == f"results/r{HISTORY_LIMIT + 4}.txt"


def test_skipped_run_is_recorded_but_not_counted() -> None:
    state = TaskState("t").with_run(
        timestamp=datetime(2026, 1, 1, tzinfo=TZ),
        status="skipped",
        duration=0,
        result_file=None,
        error="previous run still in progress",
        next_run=None,
    )
    assert state.run_count == 0 and state.last_status is None
    assert state.history[0].status == "skipped"


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"run_count": "many"}'])
def test_corrupt_state_is_set_aside_not_deleted(tmp_path: Path, content: str) -> None:
    (tmp_path / "last_run.json").write_text(content)
    read = read_state(tmp_path)
    assert read.rebuilt and read.state.run_count == 0
    assert read.set_aside is not None and read.set_aside.read_text() == content
    assert json.loads((tmp_path / "last_run.json").read_text())["run_count"] == 0


def test_result_names_never_collide(tmp_path: Path) -> None:
    started = datetime(2026, 3, 1, 10, 0, 0, tzinfo=TZ)
    writers = [ResultWriter.create(tmp_path, started, "text") for _ in range(3)]
    names = [w.output_file.name for w in writers]
    assert names == [
        "2026-03-01_10-00-00.txt",
        "2026-03-01_10-00-00_2.txt",
        "2026-03-01_10-00-00_3.txt",
    ]
    for i, w in enumerate(writers):
        w.write(f"run {i}")
        w.write_record(RunRecord(w.meta_file, w.output_file, "t", "success", start=started))
        w.close()
    records = list_results(tmp_path)
    assert [r.stem for r in records] == [
        "2026-03-01_10-00-00_3",
        "2026-03-01_10-00-00_2",
        "2026-03-01_10-00-00",
    ]
    assert records[0].output_file is not None and records[0].output_file.read_text() == "run 2"


def test_json_output_does_not_clash_with_metadata(tmp_path: Path) -> None:
    w = ResultWriter.create(tmp_path, datetime(2026, 3, 1, tzinfo=TZ), "json")
    assert w.output_file.name.endswith(".output.json") and w.meta_file.name.endswith("00.json")
    w.write_record(RunRecord(w.meta_file, w.output_file, "t", "running", start=None))
    w.close()
    assert [r.stem for r in list_results(tmp_path)] == ["2026-03-01_00-00-00"]


def test_output_is_readable_while_streaming(tmp_path: Path) -> None:
    w = ResultWriter.create(tmp_path, datetime(2026, 3, 1, tzinfo=TZ), "text")
    w.write("first ")
    assert w.output_file.read_text() == "first "
    w.truncate()
    w.write("again")
    w.close()
    assert w.output_file.read_text() == "again"


def test_prune_keeps_recent_and_running(tmp_path: Path) -> None:
    now = datetime(2026, 6, 1, tzinfo=TZ)
    for days, status in [(40, "success"), (40, "running"), (5, "success")]:
        w = ResultWriter.create(tmp_path, now - timedelta(days=days), "text")
        w.write_record(
            RunRecord(w.meta_file, w.output_file, "t", status, start=now - timedelta(days=days))
        )
        w.close()
    removed = prune_results(tmp_path, keep_days=30, now=now)
    assert len(removed) == 2
    left = sorted((r.status, r.stem[:10]) for r in list_results(tmp_path))
    assert left == [("running", "2026-04-22"), ("success", "2026-05-27")]
    assert len(os.listdir(tmp_path)) == 4


def test_with_enabled_keeps_comments_and_order() -> None:
    text = "# my task\ntype: daily  # every day\nenabled: true # on\ntime: '09:00'\n"
    assert with_enabled(text, False) == (
        "# my task\ntype: daily  # every day\nenabled: false # on\ntime: '09:00'\n"
    )
    assert with_enabled("type: daily\ntime: '09:00'", False) == (
        "type: daily\ntime: '09:00'\nenabled: false\n"
    )
    # an indented "enabled:" belongs to some nested mapping, not the schedule
    nested = "type: daily\nx:\n  enabled: true\n"
    assert with_enabled(nested, False).endswith("  enabled: true\nenabled: false\n")


@pytest.mark.parametrize("name", ["..", "../../etc/passwd", ""])
def test_a_metadata_file_cannot_point_outside_results(tmp_path: Path, name: str) -> None:
    (tmp_path / "2026-03-01_10-00-00.json").write_text(json.dumps({"result_file": name}))
    [record] = list_results(tmp_path)
    assert record.output_file is None
