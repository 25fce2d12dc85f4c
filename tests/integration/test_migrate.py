"""``bassi-tui migrate``: the older JSON tasks become task folders that ``check`` accepts.

The seed fixture is the original design's own example of an old task file, verbatim: the
"Task File Format" block of docs/task-scheduler-skill-claude.md in bennoloeffler/bassi (commit
5ce9eb5a937238ce26bb28361e74eb6a9316e559, section "Architecture: External Scheduling" >
"Task Storage"). That design's final document (docs/task-scheduler-skill-FINAL.md, "Migration
from Existing Approaches" > "From External Scheduling (claude.md approach)") is what says these
files live in ``~/.bassi/tasks/*.json`` and are to be carried over into task folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bassi_tui.cli import main
from bassi_tui.migrate import folder_name, plan_task
from bassi_tui.store.parse import load_task, parse_config, parse_schedule
from bassi_tui.store.state import read_state
from tests.helpers import make_task

# Verbatim from bennoloeffler/bassi docs/task-scheduler-skill-claude.md ("Task File Format").
SEED_EXAMPLE = """\
{
  "task_id": "weekly-report",
  "name": "Weekly Metrics Report",
  "prompt": "Query metrics database for last 7 days and generate summary report",
  "schedule": {
    "type": "weekly",
    "day": "monday",
    "time": "09:00",
    "timezone": "America/Los_Angeles"
  },
  "enabled": true,
  "created_at": "2025-01-16T10:00:00Z",
  "last_run": "2025-01-13T09:00:00Z",
  "next_run": "2025-01-20T09:00:00Z",
  "run_count": 42,
  "options": {
    "timeout": 600,
    "retry_on_error": true,
    "notify_on_failure": true
  }
}
"""
WAIT_S = 60.0  # a hang guard for the subprocesses, not a performance check


def old_tasks(root: Path, files: dict[str, Any]) -> Path:
    """An old ``~/.bassi/tasks`` dir: each value a JSON text, or an object to dump."""
    src = root / "old-tasks"
    src.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        (src / name).write_text(text, encoding="utf-8")
    return src


def tasks_dir(root: Path) -> Path:
    folder = root / "tasks"
    folder.mkdir(exist_ok=True)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path: to show that nothing changed."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def bassi(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the real command, ``python -m bassi_tui ARGS``, with ``home`` as $HOME."""
    env = {k: v for k, v in os.environ.items() if k != "BASSI_TASKS_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "bassi_tui", *args],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(home)},
        timeout=WAIT_S,
        check=False,
    )


# -- the seed's example -----------------------------------------------------------------------


def test_the_seed_example_becomes_a_task_folder_that_check_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = old_tasks(tmp_path, {"weekly-report.json": SEED_EXAMPLE})
    dest = tasks_dir(tmp_path)
    old_bytes = snapshot(src)

    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0] == (
        "migrated  weekly-report.json -> weekly-report: every Monday at 09:00, "
        "America/Los_Angeles; 42 run(s), the last at 2025-01-13T09:00+00:00 carried over; "
        "notifications go to the log channel (add channels in config.yaml); "
        "kept as comments: name, created_at, next_run"
    )
    assert "1 migrated, 0 already there, 0 not migrated, 0 with problems" in lines[-1]
    assert out.err == ""
    assert snapshot(src) == old_bytes  # the old file is kept as it was

    folder = dest / "weekly-report"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.yaml",
        "last_run.json",
        "prompt.txt",
        "schedule.yaml",
    ]
    task = load_task(folder)
    assert task.ok, task.problems
    assert task.prompt == "Query metrics database for last 7 days and generate summary report"
    schedule = task.schedule
    assert schedule is not None
    assert (schedule.type, schedule.days, str(schedule.at)) == ("weekly", ("monday",), "09:00:00")
    assert schedule.timezone == "America/Los_Angeles" and schedule.enabled
    assert task.config.timeout == 600
    assert task.config.retry_on_failure is True
    assert task.config.notify.on_failure is True

    # What the folder store has no place for is in comments, word for word.
    text = (folder / "schedule.yaml").read_text()
    assert '#   name: "Weekly Metrics Report"' in text
    assert '#   created_at: "2025-01-16T10:00:00Z"' in text
    assert '#   next_run: "2025-01-20T09:00:00Z"' in text
    assert f"# Migrated from the older JSON task {src / 'weekly-report.json'}" in text

    # The history goes on from the old counters, through the store's reader.
    state = read_state(folder, repair=False).state
    assert not state.damaged
    assert state.run_count == 42
    assert state.last_run == datetime(2025, 1, 13, 9, 0, tzinfo=UTC)
    assert state.next_run is None  # bassi-tui works out its own
    assert state.history == ()
    assert state.extra == {"migrated_from": "weekly-report.json"}

    # check, as a CI would run it, accepts the folder.
    assert main(["check", str(dest)]) == 0
    assert (
        "ok  weekly-report: every Monday at 09:00, America/Los_Angeles" in capsys.readouterr().out
    )
    assert main(["next", "weekly-report", "-n", "1", "--tasks-dir", str(dest)]) == 0
    next_fire = capsys.readouterr().out.strip()
    assert next_fire.endswith(("T09:00:00-08:00", "T09:00:00-07:00"))  # PST or PDT


def test_a_second_run_leaves_everything_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = old_tasks(tmp_path, {"weekly-report.json": SEED_EXAMPLE})
    dest = tasks_dir(tmp_path)
    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 0
    capsys.readouterr()
    first = snapshot(dest)
    mtime = (dest / "weekly-report" / "schedule.yaml").stat().st_mtime_ns

    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == (
        "exists  weekly-report.json -> weekly-report: exists, left alone"
    )
    assert "0 migrated, 1 already there, 0 not migrated" in out.out
    assert snapshot(dest) == first
    assert (dest / "weekly-report" / "schedule.yaml").stat().st_mtime_ns == mtime


def test_the_real_command_with_its_defaults(tmp_path: Path) -> None:
    """SRC defaults to ~/.bassi/tasks and the tasks dir to ~/.bassi/tasks-scheduler (made)."""
    home = tmp_path / "home"
    old = home / ".bassi" / "tasks"
    old.mkdir(parents=True)
    (old / "weekly-report.json").write_text(SEED_EXAMPLE)

    dry = bassi("migrate", "--dry-run", home=home)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would migrate  weekly-report.json -> weekly-report: ")
    assert "(dry run: nothing written)" in dry.stdout
    assert not (home / ".bassi" / "tasks-scheduler").exists()

    done = bassi("migrate", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("migrated  weekly-report.json -> weekly-report: ")
    dest = home / ".bassi" / "tasks-scheduler"
    assert (dest / "weekly-report" / "prompt.txt").is_file()

    check = bassi("check", str(dest), home=home)
    assert check.returncode == 0, check.stderr
    again = bassi("migrate", home=home)
    assert again.returncode == 0, again.stderr
    assert "exists, left alone" in again.stdout
    assert (old / "weekly-report.json").read_text() == SEED_EXAMPLE


def test_the_real_command_with_src_and_tasks_dir(tmp_path: Path) -> None:
    src = old_tasks(tmp_path, {"weekly-report.json": SEED_EXAMPLE, "bad.json": "{oops"})
    dest = tasks_dir(tmp_path)
    done = bassi("migrate", str(src), "--tasks-dir", str(dest), home=tmp_path)
    assert done.returncode == 1  # one file could not be migrated
    assert "not migrated  bad.json: not valid JSON" in done.stderr
    assert "migrated  weekly-report.json -> weekly-report" in done.stdout
    assert sorted(os.listdir(dest)) == ["weekly-report"]  # no temp folder left behind


# -- what each old field becomes ------------------------------------------------------------


def planned(data: dict[str, Any], name: str = "t") -> tuple[Any, Any, Any]:
    """The schedule, config and state a plan gives, parsed by the store's own parsers."""
    plan = plan_task(Path(f"/old/{name}.json"), data, name)
    schedule, problems = parse_schedule(name, plan.schedule_text)
    assert problems == [], plan.schedule_text
    config = None
    if plan.config_text is not None:
        config, cproblems = parse_config(name, plan.config_text)
        assert cproblems == [], plan.config_text
    return schedule, config, plan


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        ({"type": "daily", "time": "14:30"}, {"type": "daily", "at": "14:30:00"}),
        ({"type": "weekly", "day": "Friday", "time": "9:00"}, {"days": ("friday",)}),
        # Day numbers as the old `bassi schedule add` wrote them (launchd's: 0 is Sunday).
        ({"type": "weekly", "day": 0, "time": "09:00"}, {"days": ("sunday",)}),
        ({"type": "weekly", "day": 1, "time": "09:00"}, {"days": ("monday",)}),
        ({"type": "weekly", "day": 7, "time": "09:00"}, {"days": ("sunday",)}),
        ({"type": "weekly", "day": [1, "wed"], "time": "09:00"}, {"days": ("monday", "wednesday")}),
        ({"type": "monthly", "day": 1, "time": "08:00"}, {"day_of_month": 1}),
        ({"type": "monthly", "day": "15", "time": "08:00"}, {"day_of_month": 15}),
        ({"type": "interval", "interval_seconds": 7200}, {"interval_seconds": 7200}),
        ({"type": "interval", "interval_seconds": 90}, {"interval_seconds": 90}),
        ({"type": "interval", "minutes": 120}, {"interval_seconds": 7200}),
        ({"type": "cron", "cron": "0 9 * * 1"}, {"cron": "0 9 * * 1"}),
        ({"type": "once", "datetime": "2030-01-20 09:00:00"}, {"type": "once"}),
        ({"type": "once", "date": "2030-01-20", "time": "09:00"}, {"type": "once"}),
        ({"type": "DAILY", "time": "07:00", "timezone": "UTC"}, {"timezone": "UTC"}),
    ],
)
def test_each_schedule_type_is_written_as_the_new_format_names_it(
    old: dict[str, Any], expected: dict[str, Any]
) -> None:
    schedule, _, _ = planned({"prompt": "p", "schedule": old})
    for key, value in expected.items():
        got = getattr(schedule, key)
        assert (str(got) if key == "at" else got) == value


def test_the_old_model_s_time_on_an_interval_is_kept_as_a_comment_not_a_key() -> None:
    # The old Schedule dataclass gave every schedule time "09:00" and timezone "UTC".
    old = {"type": "interval", "interval_seconds": 300, "time": "09:00", "timezone": "UTC"}
    schedule, _, plan = planned({"prompt": "p", "schedule": old, "enabled": False})
    assert schedule.interval_seconds == 300 and not schedule.enabled
    assert '#   schedule.time: "09:00"  (type interval does not use it)' in plan.schedule_text
    assert plan.kept == ("schedule.time",)


def test_nothing_is_dropped_without_a_word() -> None:
    data = {
        "task_id": "other-id",
        "prompt": "p",
        "schedule": {"type": "daily", "time": "09:00", "every_other": True},
        "options": {"timeout": 30, "model_hint": "fast", "max_retries": 1},
        "owner": {"name": "benno", "note": "line one\nline two"},
        "success_count": 3,
        "failure_count": 1,
        "run_count": "many",
    }
    schedule, config, plan = planned(data)
    assert schedule.type == "daily"
    assert config.timeout == 30 and config.max_retries == 1
    assert set(plan.kept) == {
        "task_id",
        "owner",
        "schedule.every_other",
        "options.model_hint",
        "run_count",
    }
    text = plan.schedule_text
    assert '#   owner: {"name": "benno", "note": "line one\\nline two"}' in text  # one line
    assert '#   task_id: "other-id"  (the folder is named after the file)' in text
    assert '#   run_count: "many"  (not a count)' in text
    assert '#   options.model_hint: "fast"' in (plan.config_text or "")
    assert (plan.state.success_count, plan.state.failure_count) == (3, 1)


def test_a_once_task_that_ran_never_runs_again() -> None:
    data = {
        "prompt": "p",
        "schedule": {"type": "once", "datetime": "2025-01-20 09:00:00"},
        "last_run": "2025-01-20T09:00:05",
        "run_count": 1,
    }
    _, _, plan = planned(data)
    assert plan.state.once_fired
    assert plan.state.last_run is not None and plan.state.last_run.tzinfo is not None  # local


def test_prompt_variables_the_old_design_left_alone_are_named() -> None:
    daily = {"type": "daily", "time": "09:00"}
    _, _, plan = planned({"prompt": "Report for {date}, not {{date}}", "schedule": daily})
    assert plan.prompt_text == "Report for {date}, not {{date}}"
    assert "prompt.txt uses {date}, filled in at run time" in plan.notes


# -- errors -------------------------------------------------------------------------------------

#: Old tasks whose values the new format refuses; each is written, then checked.
BAD_VALUES: dict[str, dict[str, Any]] = {
    "bad-time": {"type": "daily", "time": "9am"},
    "bad-zone": {"type": "daily", "time": "09:00", "timezone": "PST"},
    "zone-with-newline": {"type": "daily", "time": "09:00", "timezone": "UTC\ntype: cron"},
    "bad-type": {"type": "hourly", "time": "09:00"},
    "no-type": {"time": "09:00"},
    "weekday-9": {"type": "weekly", "day": 9, "time": "09:00"},
    "weekday-typo": {"type": "weekly", "day": "funday", "time": "09:00"},
    "weekly-no-time": {"type": "weekly", "day": "monday"},
    "month-day-32": {"type": "monthly", "day": 32, "time": "09:00"},
    "interval-zero": {"type": "interval", "interval_seconds": 0},
    "interval-text": {"type": "interval", "minutes": "ten"},
    "bad-cron": {"type": "cron", "cron": "every monday"},
    "once-no-date": {"type": "once", "time": "09:00"},
    "once-bad-date": {"type": "once", "datetime": "2025-02-30 09:00"},
}


def test_check_on_every_error_migrate_reports_what_check_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, Any] = {
        f"{name}.json": {"prompt": "p", "schedule": old} for name, old in BAD_VALUES.items()
    }
    files["empty-prompt.json"] = {"prompt": "", "schedule": {"type": "daily", "time": "09:00"}}
    files["bad-options.json"] = {
        "prompt": "p",
        "schedule": {"type": "daily", "time": "09:00"},
        "options": {"timeout": -5, "retry_on_error": "sometimes"},
    }
    files["not-enabled.json"] = {
        "prompt": "p",
        "schedule": {"type": "daily", "time": "09:00"},
        "enabled": "no",
    }
    src = old_tasks(tmp_path, files)
    dest = tasks_dir(tmp_path)

    assert main(["migrate", str(src), "--dry-run", "--tasks-dir", str(dest)]) == 1
    dry = capsys.readouterr()
    assert os.listdir(dest) == []  # a dry run writes nothing

    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 1
    migrated = capsys.readouterr()
    n = len(files)
    assert f"{n} migrated, 0 already there, 0 not migrated, {n} with problems" in migrated.err

    assert main(["check", str(dest)]) == 1
    checked = capsys.readouterr()

    def problems(text: str) -> set[str]:
        return {line for line in text.splitlines() if line.split("/")[0] in names}

    names = {Path(f).stem for f in files}
    reported = problems(migrated.err)
    assert reported == problems(checked.err)  # printed as check prints them, no more, no less
    assert reported == problems(dry.err)  # and a dry run foresees them
    for name in names:  # every bad task has its line(s), file and line number first
        assert any(line.startswith(f"{name}/") for line in reported), name
    assert any(line.startswith("zone-with-newline/schedule.yaml:") for line in reported)
    schedule_text = (dest / "zone-with-newline" / "schedule.yaml").read_text()
    assert 'timezone: "UTC\\ntype: cron"' in schedule_text  # escaped: no key was injected

    # The second run says the same: safe to run twice, and it still exits 1.
    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 1
    again = capsys.readouterr()
    assert problems(again.err) == reported
    assert again.out.count("exists, left alone") == len(files)


def test_files_that_give_nothing_to_write_are_not_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = old_tasks(
        tmp_path,
        {
            "garbled.json": "{not json",
            "a-list.json": "[1, 2]",
            "no-prompt.json": {"schedule": {"type": "daily", "time": "09:00"}},
            "no-schedule.json": {"prompt": "p"},
            "weekly-report.json": SEED_EXAMPLE,
            "notes.txt": "not a task file: not looked at",
        },
    )
    (src / "latin1.json").write_bytes(b'{"prompt": "caf\xe9"}')
    dest = tasks_dir(tmp_path)
    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 1
    out = capsys.readouterr()
    assert sorted(os.listdir(dest)) == ["weekly-report"]
    for line in (
        "not migrated  garbled.json: not valid JSON",
        "not migrated  a-list.json: expected a JSON object (a task), got a list",
        'not migrated  no-prompt.json: no "prompt" text',
        'not migrated  no-schedule.json: no "schedule" object',
        "not migrated  latin1.json: not UTF-8 text",
    ):
        assert line in out.err
    assert "6 file(s): 1 migrated, 0 already there, 5 not migrated, 0 with problems" in out.err


def test_an_existing_folder_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = old_tasks(tmp_path, {"weekly-report.json": SEED_EXAMPLE})
    dest = tasks_dir(tmp_path)
    make_task(dest, "weekly-report", prompt="my own task")
    before = snapshot(dest)
    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 1
    out = capsys.readouterr()
    assert snapshot(dest) == before
    assert (
        "exists  weekly-report.json -> weekly-report: exists, left alone; it was not made from "
        "weekly-report.json, so that task is not migrated"
    ) in out.err


def test_usage_errors_exit_2_and_make_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["migrate"]) == 2  # no ~/.bassi/tasks
    assert "no older JSON tasks at" in capsys.readouterr().err
    assert not (tmp_path / ".bassi").exists()  # the default tasks dir was not made for nothing

    src = old_tasks(tmp_path, {"weekly-report.json": SEED_EXAMPLE})
    assert main(["migrate", str(src), "--tasks-dir", str(tmp_path / "typo")]) == 2
    assert "no tasks dir at" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()

    (tmp_path / "a-file").write_text("x")
    assert main(["migrate", str(src), "--tasks-dir", str(tmp_path / "a-file")]) == 2


def test_a_single_file_as_src(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = old_tasks(tmp_path, {"weekly-report.json": SEED_EXAMPLE, "other.json": "{"})
    dest = tasks_dir(tmp_path)
    assert main(["migrate", str(src / "weekly-report.json"), "--tasks-dir", str(dest)]) == 0
    assert os.listdir(dest) == ["weekly-report"]


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "name"),
    [
        ("weekly-report", "weekly-report"),
        ("Daily Backup", "Daily-Backup"),
        (".hidden", "hidden"),
        ("évaluation_mensuelle", "évaluation_mensuelle"),
        ("evil\x1b]0;pwned\x07\nFAKE LINE", "evil-0-pwned-FAKE-LINE"),
        ("...", "task"),
        ("x" * 300, "x" * 100),
    ],
)
def test_folder_names_are_plain(stem: str, name: str) -> None:
    assert folder_name(stem) == name


def test_hostile_and_colliding_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = json.loads(SEED_EXAMPLE)
    evil = "evil\x1b]0;pwned\x07\nFAKE LINE.json"
    src = old_tasks(tmp_path, {evil: seed, "a b.json": seed, "a-b.json": seed})
    dest = tasks_dir(tmp_path)
    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "\x07" not in out.out + out.err
    assert not any(line.startswith("FAKE LINE") for line in out.out.splitlines())
    assert "evil\\x1b]0;pwned\\x07\\nFAKE LINE.json -> evil-0-pwned-FAKE-LINE" in out.out
    assert sorted(os.listdir(dest)) == ["a-b", "a-b-2", "evil-0-pwned-FAKE-LINE"]
    assert main(["check", str(dest)]) == 0
    capsys.readouterr()
    # Run again: each file finds the folder it made, whatever its name became.
    assert main(["migrate", str(src), "--tasks-dir", str(dest)]) == 0
    assert capsys.readouterr().out.count("exists, left alone") == 3


def test_migrate_imports_no_textual() -> None:
    code = (
        "import sys, bassi_tui.migrate; sys.exit('textual' in sys.modules or 'rich' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=WAIT_S, check=False).returncode == 0
