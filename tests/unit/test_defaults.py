"""bassi.yaml: its reader, its `defaults:` under each task's config.yaml, and `check` over it."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pytest

from bassi_tui.cli import main
from bassi_tui.store.defaults import Defaults
from bassi_tui.store.loading import load_folders
from bassi_tui.store.models import LOG_CHANNEL, TaskProblem
from bassi_tui.store.parse import load_task
from bassi_tui.store.parse_config import parse_config
from bassi_tui.store.settings import SettingsKeeper, parse_settings, read_settings
from bassi_tui.store.watcher import classify
from tests.helpers import make_task

SECRET = "s3cr3t-token-value"

DEFAULTS = f"""\
# shared by every task
defaults:
  timeout: 30
  model: claude-default
  notify:
    on_failure: true
    channels: [log]
  environment:
    SHARED: "1"
    TOKEN: {SECRET}
  tools: [read, grep]
"""


def defaults_of(text: str = DEFAULTS) -> Defaults:
    settings, problems = parse_settings(text)
    assert problems == []
    assert settings.defaults is not None
    return settings.defaults


def messages(problems: Iterable[TaskProblem]) -> list[str]:
    return [f"{p.location()}: {p.message}" for p in problems]


# -- the merge --------------------------------------------------------------------------------


def test_a_task_without_config_yaml_takes_every_default(tmp_path: Path) -> None:
    make_task(tmp_path, "plain", config=None)
    task = load_task(tmp_path / "plain", defaults_of())
    assert task.ok, task.problems
    assert task.config.timeout == 30 and task.config.model == "claude-default"
    assert task.config.notify.on_failure and task.config.notify.channels == (LOG_CHANNEL,)
    assert task.config.environment == {"SHARED": "1", "TOKEN": SECRET}
    assert task.config.tools == ("read", "grep")


def test_the_task_wins_and_mappings_merge_key_by_key(tmp_path: Path) -> None:
    config = (
        "timeout: 5\n"
        "notify:\n  on_success: true\n"  # channels and on_failure still come from the defaults
        "environment:\n  TOKEN: mine\n  OWN: x\n"
        "tools: [bash]\n"  # a list replaces the default's list whole
    )
    make_task(tmp_path, "own", config=config)
    task = load_task(tmp_path / "own", defaults_of())
    assert task.ok, task.problems
    c = task.config
    assert c.timeout == 5 and c.model == "claude-default"
    assert c.notify.on_success and c.notify.on_failure and c.notify.channels == (LOG_CHANNEL,)
    assert c.environment == {"SHARED": "1", "TOKEN": "mine", "OWN": "x"}
    assert c.tools == ("bash",)


def test_an_empty_key_in_the_task_keeps_the_default() -> None:
    text = "timeout:\nnotify:\nenvironment:\n  SHARED:\n"
    config, problems = parse_config("t", text, defaults=defaults_of())
    assert problems == []
    assert config.timeout == 30 and config.notify.channels == (LOG_CHANNEL,)
    assert config.environment["SHARED"] == "1"
    text = 'notify:\n  channels: []\nenvironment:\n  SHARED: ""\n'  # how to clear a default
    cleared, _ = parse_config("t", text, defaults=defaults_of())
    assert cleared.notify.channels == () and cleared.environment["SHARED"] == ""


def test_problems_name_the_file_their_value_came_from(tmp_path: Path) -> None:
    # allowed_paths is fine as written (bassi.yaml is valid) but `data` is a file in one task.
    defaults = defaults_of("defaults:\n  timeout: 30\n  allowed_paths: [data]\n")
    make_task(tmp_path, "clash", config="max_retries: -1\n")
    (tmp_path / "clash" / "data").write_text("not a folder")
    make_task(tmp_path, "fine", config="max_retries: 1\n")
    clash = load_task(tmp_path / "clash", defaults)
    assert [(p.file, p.line) for p in clash.problems] == [("config.yaml", 1), ("bassi.yaml", 3)]
    assert "'data' is a file" in clash.problems[1].message
    assert load_task(tmp_path / "fine", defaults).ok


def test_a_key_given_twice_in_the_task_is_still_reported_at_its_line() -> None:
    _, problems = parse_config("t", "timeout: 1\ntimeout: 2\n", defaults=defaults_of())
    assert messages(problems) == ["config.yaml:2: duplicate key 'timeout' (first on line 1)"]


def test_defaults_cross_to_worker_processes(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        make_task(tmp_path, name, config="timeout: 7\n" if name == "b" else None)
    defaults = defaults_of()
    assert pickle.loads(pickle.dumps(defaults)) == defaults
    now = datetime.now().astimezone()
    pooled = load_folders(tmp_path, ["a", "b", "c"], now=now, parallel=True, defaults=defaults)
    assert [got.task.config.timeout for got in pooled] == [30, 7, 30]
    assert all(got.task.config.environment["TOKEN"] == SECRET for got in pooled)


def test_a_repr_never_shows_a_secret() -> None:
    defaults = defaults_of()
    assert SECRET not in repr(defaults) and "environment" in repr(defaults)
    settings, _ = parse_settings(DEFAULTS)
    assert SECRET not in repr(settings)


# -- the reader -------------------------------------------------------------------------------


def test_problems_in_bassi_yaml_say_bassi_yaml_and_the_line() -> None:
    text = (
        "default:\n"  # 1: a typo
        "  timeout: 3\n"
        "workers: 2\n"  # 3: a mapping with a url
        "defaults:\n"
        "  timout: 3\n"  # 5
        "  retry_delay: soon\n"  # 6
        "  environment:\n"
        f"    TOKEN: [{SECRET}]\n"  # 8: a list is no value; the message must not quote it
    )
    _, problems = parse_settings(text)
    got = messages(problems)
    assert [m.split(":")[1] for m in got] == ["1", "3", "5", "6", "8"]
    assert all(m.startswith("bassi.yaml:") for m in got)
    assert "did you mean 'defaults'" in got[0]
    assert "workers: expected a mapping like {url: redis://" in got[1]
    assert "defaults: unknown key 'timout' (did you mean 'timeout'?)" in got[2]
    assert "defaults: retry_delay: expected a number" in got[3]
    assert "TOKEN" in got[4] and not any(SECRET in m for m in got)
    assert all(type(p.line) is int for p in problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("defaults: [timeout]\n", "bassi.yaml:1: defaults: expected a mapping of config.yaml"),
        ("defaults:\n  timeout: 1\n x: [\n", "bassi.yaml:3: not valid YAML"),
        ("- defaults\n", "bassi.yaml:1: expected a mapping of `key: value` lines"),
    ],
)
def test_a_bassi_yaml_that_is_not_a_mapping_of_defaults(text: str, expected: str) -> None:
    _, problems = parse_settings(text)
    assert messages(problems)[0].startswith(expected)


def test_an_empty_or_missing_bassi_yaml_means_no_defaults(tmp_path: Path) -> None:
    assert read_settings(tmp_path)[1:] == (parse_settings("")[0], [])
    (tmp_path / "bassi.yaml").write_text("# nothing yet\ndefaults:\n")
    _, settings, problems = read_settings(tmp_path)
    assert settings.defaults is None and problems == []


def test_bassi_yaml_is_read_as_carefully_as_a_task_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("defaults:\n  timeout: 1\n")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    os.symlink(outside, tasks / "bassi.yaml")
    _, _, problems = read_settings(tasks)
    assert len(problems) == 1 and problems[0].file == "bassi.yaml"
    (tasks / "bassi.yaml").unlink()
    (tasks / "bassi.yaml").write_bytes(b"defaults:\n  model: \xff\n")
    assert messages(read_settings(tasks)[2]) == [
        "bassi.yaml:2: bassi.yaml is not valid UTF-8 (byte 0xff); expected UTF-8"
    ]


def test_the_keeper_keeps_the_last_good_defaults(tmp_path: Path) -> None:
    keeper = SettingsKeeper(tmp_path)
    first = keeper.refresh()
    assert first is not None and first.changed is False and keeper.defaults is None
    assert keeper.refresh() is None  # as last read: nothing to do
    bassi = tmp_path / "bassi.yaml"
    bassi.write_text("defaults:\n  timeout: 30\n")
    got = keeper.refresh()
    assert got is not None and got.changed and keeper.defaults == defaults_of(bassi.read_text())
    good = keeper.defaults
    bassi.write_text("defaults:\n  timeout: nope\n")
    got = keeper.refresh()
    assert (
        got is not None
        and not got.changed
        and messages(got.problems)[0].startswith("bassi.yaml:2: defaults: timeout:")
    )
    assert keeper.defaults == good
    assert keeper.refresh() is None  # still broken the same way: not said again
    bassi.write_text("defaults:\n  timeout: 30\n")  # fixed back to what is in force
    got = keeper.refresh()
    assert got is not None and got.recovered and not got.changed and not keeper.problems


def test_the_watcher_names_bassi_yaml_a_settings_change(tmp_path: Path) -> None:
    assert classify(tmp_path, str(tmp_path / "bassi.yaml")) == ("settings", "bassi.yaml")
    assert classify(tmp_path, str(tmp_path / "t" / "bassi.yaml")) is None
    assert classify(tmp_path, str(tmp_path / ".bassi.yaml.swp")) is None


# -- bassi-tui check --------------------------------------------------------------------------


def test_check_reports_a_bad_bassi_yaml_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "good")
    (tmp_path / "bassi.yaml").write_text(
        f"defaults:\n  environment:\n    TOKEN: {SECRET}\n  overlap: sometimes\n"
    )
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "bassi.yaml:4: defaults: overlap: 'sometimes' is not one of" in out.err
    assert "1 task(s), 0 with problems; bassi.yaml has problems" in out.err
    assert SECRET not in out.err + out.out


def test_check_applies_the_defaults_to_every_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "good", config=None)
    make_task(tmp_path, "clash", config="executor: echo\n")
    (tmp_path / "clash" / "data").write_text("a file")
    (tmp_path / "bassi.yaml").write_text("defaults:\n  executor: echo\n  allowed_paths: [data]\n")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "bassi.yaml:3: allowed_paths: 'data' is a file, not a folder (in task clash)" in out.err
    assert "ok  good" in out.out and "2 task(s), 1 with problems" in out.err
    (tmp_path / "clash" / "data").unlink()
    assert main(["check", str(tmp_path)]) == 0


def test_run_takes_the_defaults_and_refuses_a_broken_bassi_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tmp_path, "hello", prompt="Hi from {task_name}", config=None)
    (tmp_path / "bassi.yaml").write_text("defaults:\n  executor: echo\n")  # else: the agent
    assert main(["run", "hello", "--tasks-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Hi from hello")
    (tmp_path / "bassi.yaml").write_text("defaults:\n  executor: echo\n  timeout: -1\n")
    assert main(["run", "hello", "--tasks-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "bassi.yaml:3: defaults: timeout:" in err and "hello: not run" in err
