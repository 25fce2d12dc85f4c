"""The typed records: RunRecord (a run's metadata) and TaskState (last_run.json), as on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bassi_tui.store.records import RunRecord, TaskState
from bassi_tui.store.results import read_run
from bassi_tui.store.state import CORRUPT_KEEP, read_state, update_state
from tests.helpers import write_run

TZ = timezone(timedelta(hours=2))
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=TZ)


def eight_runs(folder: Path) -> None:
    for i in range(8):
        write_run(folder, T0 + timedelta(hours=i), "success" if i % 4 else "failed", f"run {i}")


def test_a_run_record_round_trips_and_keeps_unknown_keys(tmp_path: Path) -> None:
    meta = write_run(tmp_path, T0, "success", "text", input_tokens=12, budget_left_usd=0.5)
    record = read_run(meta)
    assert record is not None
    assert (record.status, record.start, record.input_tokens) == ("success", T0, 12)
    assert record.output_file == tmp_path / "results" / f"{meta.stem}.txt"
    assert record.extra == {"budget_left_usd": 0.5}  # a newer version's key survives a rewrite
    again = RunRecord.from_json(record.to_json(), meta)
    assert again == record


def test_wrong_types_in_a_run_record_read_as_absent(tmp_path: Path) -> None:
    meta = tmp_path / "2026-05-01_09-00-00.json"
    meta.write_text(json.dumps({"status": 3, "start": "yesterday", "attempts": "two"}))
    record = read_run(meta)
    assert record is not None
    assert (record.status, record.start, record.attempts) == ("unknown", None, 0)


@pytest.mark.parametrize("form", ["2026-05-01_09-00-00.txt", "results/2026-05-01_09-00-00.txt"])
def test_both_forms_of_a_result_path_are_read(form: str) -> None:
    raw = {"last_result_file": form, "history": [{"timestamp": T0.isoformat(), "status": "success",
           "duration": 1, "result_file": form}]}  # fmt: skip
    state = TaskState.from_json(raw, "t")
    assert state.last_result_file == "results/2026-05-01_09-00-00.txt"
    assert state.history[0].result_file == "results/2026-05-01_09-00-00.txt"


def test_recording_the_same_run_twice_counts_it_once() -> None:
    once = TaskState("t").with_run(
        timestamp=T0, status="success", duration=1.0, result_file="a.txt", error=None, next_run=None
    )
    twice = once.with_run(
        timestamp=T0, status="success", duration=1.0, result_file="a.txt", error=None, next_run=None
    )
    assert twice.run_count == once.run_count == 1 and len(twice.history) == 1


def test_a_non_numeric_counter_rebuilds_the_state_from_the_runs(tmp_path: Path) -> None:
    eight_runs(tmp_path)
    (tmp_path / "last_run.json").write_text(json.dumps({"run_count": "many", "history": []}))
    read = read_state(tmp_path)
    assert read.rebuilt and read.set_aside is not None
    state = read.state
    assert (state.run_count, state.success_count, state.failure_count) == (8, 6, 2)
    assert state.history[0].result_file is not None
    assert read_state(tmp_path).state == state  # written back: the next read is plain


def test_a_directory_in_place_of_last_run_json_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    eight_runs(tmp_path)
    (tmp_path / "last_run.json").mkdir()
    read = read_state(tmp_path)
    assert read.rebuilt and read.state.run_count == 8
    assert (tmp_path / "last_run.json").is_file()
    assert read.set_aside is not None and read.set_aside.is_dir()


def test_a_symlinked_last_run_json_is_never_followed(tmp_path: Path) -> None:
    task = tmp_path / "task"
    task.mkdir()
    secret = tmp_path / "credentials"
    secret.write_text('{"run_count": 1, "aws_secret": "hunter2"}')
    os.symlink(secret, task / "last_run.json")
    read = read_state(task)
    assert read.rebuilt and read.state.run_count == 0
    assert "hunter2" not in (task / "last_run.json").read_text()
    assert not (task / "last_run.json").is_symlink()
    assert secret.read_text() == '{"run_count": 1, "aws_secret": "hunter2"}'  # left alone


def test_damaged_files_set_aside_are_capped(tmp_path: Path) -> None:
    for n in range(CORRUPT_KEEP + 4):
        (tmp_path / "last_run.json").write_text(f"broken {n}")
        read_state(tmp_path)
    aside = sorted(p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name)
    assert len(aside) == CORRUPT_KEEP
    assert (tmp_path / aside[-1]).read_text() == f"broken {CORRUPT_KEEP + 3}"  # newest kept


def test_a_monitor_reads_a_damaged_file_without_touching_it(tmp_path: Path) -> None:
    eight_runs(tmp_path)
    (tmp_path / "last_run.json").write_text("{oops")
    read = read_state(tmp_path, repair=False)
    assert read.state.run_count == 8 and read.set_aside is None
    assert (tmp_path / "last_run.json").read_text() == "{oops"


def test_a_run_recorded_into_a_damaged_state_is_counted_once(tmp_path: Path) -> None:
    eight_runs(tmp_path)
    meta = write_run(tmp_path, T0 + timedelta(days=1), "success", "ninth")
    (tmp_path / "last_run.json").write_text("[]")
    record = read_run(meta)
    assert record is not None and record.start is not None
    start = record.start
    # The run's own record is on disk already, so the rebuild counts it; recording it again
    # must not count it twice.
    state = update_state(
        tmp_path,
        lambda s: s.with_run(
            timestamp=start,
            status="success",
            duration=1.0,
            result_file=record.result_file,
            error=None,
            next_run=None,
        ),
    )
    assert state.run_count == 9


def test_writers_in_two_processes_never_lose_each_others_updates(tmp_path: Path) -> None:
    # A `bassi-tui run` records its run while the scheduler records a fire it skipped for it:
    # two processes read-modify-write the same last_run.json.
    code = (
        "import sys, pathlib\n"
        "from bassi_tui.store.state import update_state\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "for _ in range(150):\n"
        "    update_state(path, lambda s: s.replace(missed_count=s.missed_count + 1),"
        " durable=False)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)]) for _ in range(3)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    assert read_state(tmp_path).state.missed_count == 450
