"""``list``, ``stats``, ``check --json`` and ``next --json``: the real command in a subprocess,
on a tasks dir whose runs are written as files; the JSON is checked against those files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.helpers import make_task

COLUMNS = 80


def bassi(tasks_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BASSI_TASKS_DIR", "COLUMNS")}
    return subprocess.run(
        [sys.executable, "-m", "bassi_tui", *args, "--tasks-dir", str(tasks_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def write_run(task: Path, start: datetime, **fields: Any) -> dict[str, Any]:
    """A finished run's metadata file (and its output), as the engine writes them."""
    results = task / "results"
    results.mkdir(exist_ok=True)
    stem = start.strftime("%Y-%m-%d_%H-%M-%S")
    (results / f"{stem}.txt").write_text("output", encoding="utf-8")
    duration = fields.pop("duration", 2.0)
    data: dict[str, Any] = {
        "task_name": task.name,
        "run_id": stem,
        "status": "success",
        "trigger": "scheduled",
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=duration)).isoformat(),
        "duration": duration,
        "attempts": 1,
        "result_file": f"{stem}.txt",
        "partial": False,
        **fields,
    }
    (results / f"{stem}.json").write_text(json.dumps(data), encoding="utf-8")
    return data


def write_state(
    task: Path, runs: list[dict[str, Any]], next_run: datetime | None = None
) -> dict[str, Any]:
    """last_run.json for these runs (newest first), with its counters."""
    ok = sum(1 for r in runs if r["status"] == "success")
    state = {
        "task_name": task.name,
        "last_run": runs[0]["start"],
        "next_run": next_run.isoformat() if next_run is not None else None,
        "run_count": len(runs),
        "success_count": ok,
        "failure_count": len(runs) - ok,
        "last_status": runs[0]["status"],
        "last_duration_seconds": runs[0]["duration"],
        "last_result_file": f"results/{runs[0]['result_file']}",
        "history": [
            {"timestamp": r["start"], "status": r["status"], "duration": r["duration"]}
            for r in runs
        ],
    }
    (task / "last_run.json").write_text(json.dumps(state), encoding="utf-8")
    return state


def today_at(seconds: int) -> datetime:
    """Local midnight today plus ``seconds``: this day and this month, whatever the time."""
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(seconds=seconds)


def populated(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """Tasks: ``paid`` with three runs today (costs 0.5, 0.25 and none), one yesterday (no
    cost) and one last month (cost 10), ``fresh`` never run, ``broken`` invalid."""
    root = tmp_path / "tasks"
    paid = make_task(root, "paid", schedule="type: interval\nminutes: 30\n")
    make_task(root, "fresh", schedule="type: daily\ntime: '09:00'\ntimezone: Europe/Berlin\n")
    make_task(root, "broken", schedule="type: daily\ntiem: '07:30'\n")
    month_start = today_at(0).replace(day=1)
    runs = [
        write_run(paid, today_at(3), status="failed", duration=9.0, error="boom"),
        write_run(paid, today_at(2), cost_usd=0.25, input_tokens=100, output_tokens=10),
        write_run(
            paid, today_at(1), cost_usd=0.5, duration=4.0, input_tokens=200, output_tokens=20
        ),
        write_run(paid, today_at(-3600), duration=1.0),  # yesterday
        # Within a day of this month (run names are local time): read, and left out.
        write_run(paid, month_start - timedelta(hours=12), cost_usd=10.0, input_tokens=5),
    ]
    # The interval's grid is anchored on the promised next run (else it starts from now).
    promised = datetime.now().astimezone() + timedelta(minutes=10)
    return root, write_state(paid, runs, promised)


def test_list_json_matches_the_files(tmp_path: Path) -> None:
    root, state = populated(tmp_path)
    proc = bassi(root, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert set(rows) == {"paid", "fresh", "broken"}
    for row in rows.values():
        assert list(row) == [
            "name", "ok", "enabled", "schedule", "next", "last", "last_status", "running",
            "runs", "successes", "failures", "success_rate", "cost_month_usd", "problems",
        ]  # fmt: skip
    paid = rows["paid"]
    assert paid["runs"] == state["run_count"] == 5
    assert paid["successes"] == state["success_count"] and paid["failures"] == 1
    assert paid["success_rate"] == 0.8
    assert datetime.fromisoformat(paid["last"]) == datetime.fromisoformat(state["last_run"])
    assert paid["last_status"] == "failed" and paid["running"] is False
    assert paid["cost_month_usd"] == 0.75  # last month's 10 and the run without a cost left out
    assert paid["ok"] is True and paid["enabled"] is True and paid["problems"] == []
    # The next fire as `next` computes it.
    nxt = bassi(root, "next", "paid", "-n", "1", "--json")
    assert nxt.returncode == 0, nxt.stderr
    assert paid["next"] == json.loads(nxt.stdout)["times"][0]
    promised = datetime.fromisoformat(state["next_run"]).replace(microsecond=0)
    assert datetime.fromisoformat(paid["next"]) == promised  # on the anchored grid
    fresh = rows["fresh"]
    assert fresh["runs"] == 0 and fresh["success_rate"] is None and fresh["last"] is None
    assert fresh["cost_month_usd"] == 0.0
    assert fresh["next"].endswith(("+01:00", "+02:00")) and "T09:00:00" in fresh["next"]
    broken = rows["broken"]
    assert broken["ok"] is False and broken["next"] is None and broken["schedule"] is None
    assert any(p["file"] == "schedule.yaml" and p["line"] == 2 for p in broken["problems"])
    # Sorted by next fire, tasks that will not fire last.
    assert list(rows)[-1] == "broken"
    # It only read.
    assert json.loads((root / "paid" / "last_run.json").read_text()) == state
    assert not (root / "broken" / "last_run.json").exists()


def test_list_without_cost_is_unknown_not_zero(tmp_path: Path) -> None:
    root = tmp_path / "tasks"
    task = make_task(root, "nocost")
    write_state(task, [write_run(task, today_at(5))])
    proc = bassi(root, "list", "--json")
    assert json.loads(proc.stdout)[0]["cost_month_usd"] is None
    text = bassi(root, "list").stdout.splitlines()
    assert text[1].split()[-2:] == ["-", "nocost"]  # COST/MO, TASK


def test_list_table_fits_80_columns_and_is_inert(tmp_path: Path) -> None:
    root, _ = populated(tmp_path)
    long = "a-task-name-" + "x" * 100
    make_task(root, long)
    make_task(root, "e\x1b]0;x\x07v")
    proc = bassi(root, "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == [
        "NEXT", "LEFT", "LAST", "STATUS", "RUNS", "OK", "COST/MO", "TASK"
    ]  # fmt: skip
    assert all(len(line) <= COLUMNS for line in lines)
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert any("e\\x1b]0;x\\x07v" in line for line in lines)
    assert any(line.endswith("…") and "a-task-name-x" in line for line in lines)
    paid = next(line for line in lines if line.endswith("paid"))
    assert "failed" in paid and "80%" in paid and "$0.75" in paid
    broken = next(line for line in lines if line.endswith("broken"))
    assert "invalid" in broken
    header_task = lines[0].index("TASK")
    rows = lines[1 : lines.index("")]
    assert len(rows) == 5 and lines[-1] == "5 task(s) listed."
    assert all(row[header_task - 2 : header_task] == "  " for row in rows)  # aligned


def test_check_json_keeps_the_exit_codes(tmp_path: Path) -> None:
    root, _ = populated(tmp_path)
    proc = bassi(root, "check", "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False
    tasks = {t["name"]: t for t in doc["tasks"]}
    assert tasks["paid"] == {
        "name": "paid",
        "ok": True,
        "schedule": "every 30 minutes",
        "warnings": [],
        "problems": [],
    }
    [problem] = tasks["broken"]["problems"]
    assert problem["file"] == "schedule.yaml" and problem["line"] == 2
    assert "time" in problem["message"]
    clean = tmp_path / "clean"
    make_task(clean, "good")
    ok = bassi(clean, "check", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    missing = bassi(tmp_path / "nope", "check", "--json")
    assert missing.returncode == 2 and missing.stdout == ""


def test_next_json_matches_next(tmp_path: Path) -> None:
    root, _ = populated(tmp_path)
    doc_proc = bassi(root, "next", "fresh", "-n", "3", "--json")
    assert doc_proc.returncode == 0, doc_proc.stderr
    doc = json.loads(doc_proc.stdout)
    plain = bassi(root, "next", "fresh", "-n", "3").stdout.split()
    assert doc == {
        "task": "fresh",
        "timezone": "Europe/Berlin",
        "enabled": True,
        "times": plain,
        "note": None,
    }
    assert bassi(root, "next", "nope", "--json").returncode == 2
    assert bassi(root, "next", "broken", "--json").returncode == 1


def test_stats_json_sums_the_run_records(tmp_path: Path) -> None:
    root, _ = populated(tmp_path)
    proc = bassi(root, "stats", "paid", "--days", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    today = today_at(0).date().isoformat()
    assert doc["task"] == "paid" and doc["days"] == 1
    assert doc["from"] == doc["to"] == today
    expected = {
        "runs": 3,
        "successes": 2,
        "success_rate": 2 / 3,
        "duration_p50": 4.0,
        "duration_p95": 9.0,
        "input_tokens": 300,
        "output_tokens": 30,
        "cost_usd": 0.75,
    }
    assert doc["total"] == expected
    assert doc["per_day"] == [{"date": today, **expected}]
    # Over 60 days the run of last month counts too; all tasks are the same as `paid` here.
    wide = json.loads(bassi(root, "stats", "--days", "60", "--json").stdout)
    assert wide["task"] is None and len(wide["per_day"]) == 60
    assert wide["total"]["runs"] == 5 and wide["total"]["cost_usd"] == 10.75
    assert bassi(root, "stats", "nope").returncode == 2


def test_stats_table(tmp_path: Path) -> None:
    root, _ = populated(tmp_path)
    proc = bassi(root, "stats", "--days", "2")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:3] == ["DAY", "RUNS", "OK"]
    total = lines[-1].split()
    assert total[:3] == ["total", "4", "75%"] and total[-1] == "$0.75"
