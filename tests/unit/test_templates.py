"""Templates: `.templates/NAME/` and `extends:`: the merge, where problems point, and `check`."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable
from datetime import datetime, time
from pathlib import Path

import pytest

from bassi_tui.cli import main
from bassi_tui.store import templates as templates_module
from bassi_tui.store.loading import list_task_folders, load_folders
from bassi_tui.store.models import Task, TaskProblem
from bassi_tui.store.parse import load_task, read_task
from bassi_tui.store.settings import parse_settings
from bassi_tui.store.templates import TemplateKeeper, read_templates
from bassi_tui.store.watcher import classify
from tests.helpers import make_task, write_atomic

WEEKLY = 'type: weekly\nday: monday\ntime: "09:00"\ntimezone: Europe/Rome\n'


def template(root: Path, name: str, **files: str) -> Path:
    """Write ``.templates/NAME/`` with the given files (schedule=, config=, prompt=)."""
    folder = root / ".templates" / name
    folder.mkdir(parents=True, exist_ok=True)
    names = {"schedule": "schedule.yaml", "config": "config.yaml", "prompt": "prompt.txt"}
    for key, text in files.items():
        write_atomic(folder / names[key], text)
    return folder


def task(root: Path, name: str, **files: str) -> Path:
    """Write a task folder with only the given files."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    names = {"schedule": "schedule.yaml", "config": "config.yaml", "prompt": "prompt.txt"}
    for key, text in files.items():
        write_atomic(folder / names[key], text)
    return folder


def load(root: Path, name: str) -> Task:
    return load_task(root / name, None, read_templates(root))


def located(problems: Iterable[TaskProblem]) -> list[str]:
    return [f"{p.location()}: {p.message}" for p in problems]


# -- what a task takes ------------------------------------------------------------------------


def test_a_task_takes_all_three_files_from_its_template(tmp_path: Path) -> None:
    template(
        tmp_path,
        "weekly",
        schedule=WEEKLY,
        config="executor: echo\ntimeout: 30\n",
        prompt="Report for {task_name}",
    )
    task(tmp_path, "sales", config="extends: weekly\n")
    got = load(tmp_path, "sales")
    assert got.ok, got.problems
    assert got.schedule is not None and got.schedule.type == "weekly"
    assert got.schedule.days == ("monday",) and got.schedule.at == time(9, 0)
    assert got.schedule.timezone == "Europe/Rome"
    assert got.config.executor == "echo" and got.config.timeout == 30
    assert got.prompt == "Report for {task_name}"


def test_the_task_wins_then_its_template_then_what_that_extends_then_bassi_yaml(
    tmp_path: Path,
) -> None:
    settings, problems = parse_settings(
        "defaults:\n  executor: echo\n  model: from-bassi\n  max_tokens: 100\n"
        "  environment:\n    A: bassi\n    B: bassi\n    C: bassi\n    D: bassi\n"
    )
    assert problems == [] and settings.defaults is not None
    template(
        tmp_path,
        "base",
        config="model: from-base\nmax_turns: 7\nenvironment:\n  B: base\n  C: base\n  D: base\n",
    )
    template(
        tmp_path,
        "weekly",
        schedule=WEEKLY,
        prompt="p",
        config="extends: base\nmax_turns: 8\nnotify:\n  on_success: true\n"
        "environment:\n  C: weekly\n  D: weekly\n",
    )
    task(
        tmp_path,
        "t",
        config="extends: weekly\nnotify:\n  on_failure: false\nenvironment:\n  D: task\n",
    )
    got = load_task(tmp_path / "t", settings.defaults, read_templates(tmp_path))
    assert got.ok, got.problems
    c = got.config
    assert (c.executor, c.model, c.max_tokens, c.max_turns) == ("echo", "from-base", 100, 8)
    assert c.environment == {"A": "bassi", "B": "base", "C": "weekly", "D": "task"}
    assert c.notify.on_success and not c.notify.on_failure  # merged key by key


def test_schedule_yaml_merges_key_by_key_and_an_empty_key_keeps_the_templates(
    tmp_path: Path,
) -> None:
    template(tmp_path, "weekly", schedule=WEEKLY, prompt="p", config="executor: echo\n")
    task(tmp_path, "later", config="extends: weekly\n", schedule='time: "10:30"\n')
    task(tmp_path, "empty", config="extends: weekly\n", schedule="# same as the template\ntime:\n")
    later, empty = load(tmp_path, "later"), load(tmp_path, "empty")
    assert later.ok and empty.ok, (later.problems, empty.problems)
    assert later.schedule is not None and later.schedule.at == time(10, 30)
    assert later.schedule.days == ("monday",) and later.schedule.timezone == "Europe/Rome"
    assert empty.schedule is not None and empty.schedule.at == time(9, 0)


@pytest.mark.parametrize(
    "own",
    [
        "  time:\n  enabled: true\n",  # an indented root, its first key left to the template
        '%YAML 1.1\n---\ntime: "09:00"\n...\n',  # a directive and both markers
        "# only a comment\n",
        "{}\n",
        "time: |-\n  09:00\n",  # a block scalar last: the template's keys must end it
        'time: "09:00"\r\nenabled: true\r\n',
    ],
)
def test_any_block_schedule_of_the_task_takes_the_templates_keys(tmp_path: Path, own: str) -> None:
    template(tmp_path, "w", schedule="# the slot\n" + WEEKLY + "...\n", prompt="p")
    task(tmp_path, "t", config="extends: w\n", schedule=own)
    got = load(tmp_path, "t")
    assert got.ok, got.problems
    assert got.schedule is not None and got.schedule.days == ("monday",)
    assert got.schedule.at == time(9, 0) and got.schedule.timezone == "Europe/Rome"


def test_another_type_in_the_task_keeps_only_the_templates_common_keys(tmp_path: Path) -> None:
    template(tmp_path, "weekly", schedule=WEEKLY + "jitter: 5\n", prompt="p")
    task(tmp_path, "often", config="extends: weekly\n", schedule="type: interval\nminutes: 5\n")
    got = load(tmp_path, "often")
    assert got.ok, got.problems  # no "'day' does not apply to type interval"
    assert got.schedule is not None and got.schedule.interval_seconds == 300
    assert got.schedule.timezone == "Europe/Rome" and got.schedule.jitter == 5


def test_a_prompt_in_the_task_replaces_the_templates(tmp_path: Path) -> None:
    template(tmp_path, "weekly", schedule=WEEKLY, prompt="template prompt\n")
    task(tmp_path, "own", config="extends: weekly\n", prompt="my prompt")
    assert load(tmp_path, "own").prompt == "my prompt"


def test_a_template_chain_is_resolved_nearest_first(tmp_path: Path) -> None:
    template(tmp_path, "a", schedule="type: daily\ntime: '08:00'\n", prompt="from a")
    template(tmp_path, "b", config="extends: a\n", schedule="timezone: Europe/Rome\n")
    template(tmp_path, "c", config="extends: b\n", prompt="from c")
    task(tmp_path, "t", config="extends: c\n")
    got, chain = read_task(tmp_path / "t", None, read_templates(tmp_path))
    assert got.ok, got.problems
    assert chain == ("c", "b", "a")
    assert got.schedule is not None and got.schedule.at == time(8, 0)
    assert got.schedule.timezone == "Europe/Rome" and got.prompt == "from c"


def test_relative_paths_from_a_template_are_the_tasks_own(tmp_path: Path) -> None:
    template(tmp_path, "agent", schedule=WEEKLY, prompt="p", config="workdir: workspace\n")
    task(tmp_path, "one", config="extends: agent\n")
    got = load(tmp_path, "one")
    assert got.ok, got.problems
    assert got.config.workdir == "workspace"


# -- where problems point ---------------------------------------------------------------------


def test_a_problem_in_a_templates_file_names_that_file_and_line(tmp_path: Path) -> None:
    template(
        tmp_path,
        "weekly",
        schedule='type: weekly\nday: funday\ntime: "09:00"\n',
        config="executor: echo\ntimeout: soon\n",
        prompt="p",
    )
    task(tmp_path, "t", config="extends: weekly\nmax_retries: -1\n")
    got = load(tmp_path, "t")
    assert sorted(located(got.problems)) == [
        ".templates/weekly/config.yaml:2: timeout: expected a number > 0, got 'soon'",
        ".templates/weekly/schedule.yaml:2: day: 'funday' is not a weekday; "
        + got.problems[0].message.split("; ", 1)[1],  # the weekday list is the parser's
        "config.yaml:2: max_retries: expected a whole number >= 0, got '-1'",
    ]
    assert all(p.task == "t" for p in got.problems)


def test_the_tasks_own_schedule_lines_keep_their_numbers_over_a_template(tmp_path: Path) -> None:
    template(tmp_path, "weekly", schedule="# the weekly slot\n" + WEEKLY, prompt="p")
    task(
        tmp_path,
        "t",
        config="extends: weekly\n",
        schedule="# mine\n\ntime: '25:00'\ntimzone: UTC\n",
    )
    got = load(tmp_path, "t")
    assert [(p.file, p.line) for p in got.problems] == [("schedule.yaml", 3), ("schedule.yaml", 4)]
    assert got.problems[0].message.startswith("time: '25:00' is not a time")
    assert got.problems[1].message.startswith("unknown key 'timzone' (did you mean 'timezone'?)")


def test_a_duplicate_key_in_a_template_says_where_the_first_one_is(tmp_path: Path) -> None:
    template(tmp_path, "w", schedule="type: daily\ntime: '09:00'\n\ntime: '10:00'\n", prompt="p")
    task(tmp_path, "t", config="extends: w\n", schedule="enabled: true\n")
    got = load(tmp_path, "t")
    assert located(got.problems) == [
        ".templates/w/schedule.yaml:4: duplicate key 'time' (first on line 2)"
    ]


def test_a_duplicate_key_in_a_templates_config_quotes_a_plain_line_number(tmp_path: Path) -> None:
    template(tmp_path, "w", schedule=WEEKLY, prompt="p", config="timeout: 1\ntimeout: 2\n")
    task(tmp_path, "t", config="extends: w\n")
    assert located(load(tmp_path, "t").problems) == [
        ".templates/w/config.yaml:2: duplicate key 'timeout' (first on line 1)"
    ]


def test_a_template_that_does_not_exist_is_a_problem_on_the_tasks_line(tmp_path: Path) -> None:
    template(tmp_path, "daily", prompt="p")
    template(tmp_path, "weekly", prompt="p")
    task(tmp_path, "t", config="executor: echo\nextends: wekly\n")
    got, chain = read_task(tmp_path / "t", None, read_templates(tmp_path))
    # Only that: no "schedule.yaml is missing", which the template was to give.
    assert located(got.problems) == [
        "config.yaml:2: extends: 'wekly' not found in .templates/ (did you mean 'weekly'?); "
        "there are: daily, weekly"
    ]
    assert chain == ("wekly",)  # creating it must read this task again
    task(tmp_path, "u", config="extends: monthly\n")
    assert located(load(tmp_path, "u").problems) == [
        "config.yaml:1: extends: 'monthly' not found in .templates/; there are: daily, weekly"
    ]
    (tmp_path / ".templates" / "daily").rename(tmp_path / "elsewhere")
    (tmp_path / ".templates" / "weekly").rename(tmp_path / "elsewhere2")
    assert located(load(tmp_path, "u").problems) == [
        "config.yaml:1: extends: 'monthly' not found in .templates/; there are none"
    ]


@pytest.mark.parametrize(
    ("value", "got"),
    [("[a, b]", "a list"), ("5", "a number"), ("{a: 1}", "a mapping"), ('""', "an empty name")],
)
def test_extends_must_be_one_name(tmp_path: Path, value: str, got: str) -> None:
    task(tmp_path, "t", config=f"extends: {value}\n", schedule=WEEKLY, prompt="p")
    assert located(load(tmp_path, "t").problems) == [
        f"config.yaml:1: extends: expected the name of a template (a folder in .templates/), "
        f"got {got}"
    ]


def test_an_empty_extends_extends_nothing(tmp_path: Path) -> None:
    task(tmp_path, "t", config="extends:\nexecutor: echo\n", schedule=WEEKLY, prompt="p")
    got, chain = read_task(tmp_path / "t", None, read_templates(tmp_path))
    assert got.ok and chain == ()


def test_a_loop_of_templates_is_named_the_same_from_wherever_it_is_entered(
    tmp_path: Path,
) -> None:
    template(tmp_path, "a", config="timeout: 5\nextends: b\n", schedule=WEEKLY, prompt="p")
    template(tmp_path, "b", config="extends: a\n")
    template(tmp_path, "c", config="extends: b\n")
    template(tmp_path, "self", config="# me again\nextends: self\n")
    loop = ".templates/b/config.yaml:1: extends: a loop of templates: a -> b -> a"
    for entry in ("a", "b", "c"):
        task(tmp_path, f"via-{entry}", config=f"extends: {entry}\n")
        got, chain = read_task(tmp_path / f"via-{entry}", None, read_templates(tmp_path))
        assert located(got.problems) == [loop], entry
        assert set(chain) >= {"a", "b"}
    task(tmp_path, "me", config="extends: self\n", schedule=WEEKLY, prompt="p")
    assert located(load(tmp_path, "me").problems) == [
        ".templates/self/config.yaml:2: extends: a loop of templates: self -> self"
    ]


def test_a_template_extending_one_that_does_not_exist(tmp_path: Path) -> None:
    template(tmp_path, "weekly", config="extends: base\n", schedule=WEEKLY, prompt="p")
    task(tmp_path, "t", config="extends: weekly\n")
    got, chain = read_task(tmp_path / "t", None, read_templates(tmp_path))
    assert located(got.problems) == [
        ".templates/weekly/config.yaml:1: extends: 'base' not found in .templates/; "
        "there are: weekly"
    ]
    assert chain == ("weekly", "base")


def test_files_neither_the_task_nor_its_template_has(tmp_path: Path) -> None:
    template(tmp_path, "bare", config="executor: echo\n")
    task(tmp_path, "t", config="extends: bare\n")
    assert located(load(tmp_path, "t").problems) == [
        "schedule.yaml: schedule.yaml is missing; expected one, e.g. `type: daily` and "
        "`time: \"09:00\"` (template 'bare' has none either)",
        "prompt.txt: prompt.txt is missing; expected one holding the prompt text "
        "(template 'bare' has none either)",
    ]


def test_a_broken_or_unsafe_template_file_breaks_its_tasks(tmp_path: Path) -> None:
    folder = template(tmp_path, "w", schedule=WEEKLY, config="executor: [echo\n", prompt="  \n")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the model")
    task(tmp_path, "t", config="extends: w\n")
    got = load(tmp_path, "t")
    assert [(p.file, p.line) for p in got.problems] == [
        (".templates/w/prompt.txt", None),  # empty
        (".templates/w/config.yaml", 2),  # bad YAML
    ]
    os.remove(folder / "prompt.txt")
    os.symlink(secret, folder / "prompt.txt")
    got = load(tmp_path, "t")
    assert got.prompt is None
    assert (
        ".templates/w/prompt.txt: prompt.txt is a symlink to outside" in located(got.problems)[-1]
    )


def test_a_one_line_mapping_cannot_take_keys_from_a_template(tmp_path: Path) -> None:
    template(tmp_path, "w", schedule=WEEKLY, prompt="p")
    task(tmp_path, "t", config="extends: w\n", schedule="{time: '10:00'}\n")
    assert located(load(tmp_path, "t").problems) == [
        "schedule.yaml:1: cannot take keys from .templates/w/schedule.yaml unless both are "
        "written as `key: value` lines (not one {...} mapping)"
    ]


def test_bassi_yaml_defaults_cannot_name_a_template() -> None:
    _, problems = parse_settings("defaults:\n  timeout: 5\n  extends: weekly\n")
    assert located(problems) == [
        "bassi.yaml:3: defaults: extends: a task names its template in its own config.yaml, "
        "not here"
    ]


# -- a template is not a task; loads read it once ---------------------------------------------


def test_a_template_folder_is_never_a_task(tmp_path: Path) -> None:
    template(tmp_path, "weekly", schedule=WEEKLY, prompt="p")
    make_task(tmp_path, "real")
    assert list_task_folders(tmp_path) == ["real"]


def test_each_template_is_read_and_parsed_once_per_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template(tmp_path, "base", config="executor: echo\n", prompt="p")
    template(tmp_path, "weekly", config="extends: base\n", schedule=WEEKLY)
    for n in range(30):
        task(tmp_path, f"t{n:02d}", config="extends: weekly\n", schedule="time: '07:00'\n")
    parsed: list[str] = []
    real = templates_module._parse_own

    def counting(source: templates_module.TemplateSource) -> templates_module._Own:
        parsed.append(source.name)
        return real(source)

    monkeypatch.setattr(templates_module, "_parse_own", counting)
    templates = read_templates(tmp_path)
    now = datetime.now().astimezone()
    loaded = load_folders(tmp_path, list_task_folders(tmp_path), now=now, templates=templates)
    assert all(got.task.ok for got in loaded)
    assert sorted(parsed) == ["base", "weekly"]


def test_templates_cross_to_worker_processes(tmp_path: Path) -> None:
    template(tmp_path, "weekly", schedule=WEEKLY, config="executor: echo\ntimeout: 9\n")
    for name in ("a", "b", "c"):
        task(tmp_path, name, config="extends: weekly\n", prompt=name)
    templates = read_templates(tmp_path)
    assert pickle.loads(pickle.dumps(templates)) == templates
    now = datetime.now().astimezone()
    pooled = load_folders(tmp_path, ["a", "b", "c"], now=now, parallel=True, templates=templates)
    assert [(got.task.ok, got.task.config.timeout) for got in pooled] == [(True, 9)] * 3
    assert [got.templates for got in pooled] == [("weekly",)] * 3


def test_a_template_problem_line_survives_pickling(tmp_path: Path) -> None:
    line = templates_module.TemplateLine(3, ".templates/w/config.yaml")
    back = pickle.loads(pickle.dumps(line))
    assert (back, back.file, type(back)) == (3, ".templates/w/config.yaml", type(line))


# -- the watcher and the keeper ---------------------------------------------------------------


def test_the_watcher_names_changes_under_templates(tmp_path: Path) -> None:
    t = tmp_path / ".templates"
    assert classify(tmp_path, str(t / "weekly" / "config.yaml")) == ("template", "weekly")
    assert classify(tmp_path, str(t / "weekly" / "prompt.txt")) == ("template", "weekly")
    assert classify(tmp_path, str(t / "weekly")) == ("template", "weekly")
    assert classify(tmp_path, str(t)) == ("template", "")
    assert classify(tmp_path, str(t / "weekly" / "notes.md")) is None
    assert classify(tmp_path, str(t / "weekly" / "results" / "x.txt")) is None
    assert classify(tmp_path, str(t / ".old" / "config.yaml")) is None
    assert classify(tmp_path, str(tmp_path / ".paused" / "config.yaml")) is None


def test_the_keeper_says_which_templates_changed_and_who_uses_them(tmp_path: Path) -> None:
    template(tmp_path, "base", config="timeout: 1\n")
    template(tmp_path, "weekly", config="extends: base\n")
    keeper = TemplateKeeper(tmp_path)
    assert keeper.refresh() == {"base", "weekly"}
    assert keeper.refresh() == set()  # unchanged: nothing to do
    keeper.note("t1", ("weekly", "base"))
    keeper.note("t2", ("base",))
    keeper.note("t3", ("missing",))
    write_atomic(tmp_path / ".templates" / "base" / "config.yaml", "timeout: 2\n")
    assert keeper.refresh() == {"base"}
    assert keeper.users_of({"base"}) == {"t1", "t2"}
    assert keeper.users_of({"weekly"}) == {"t1"}
    template(tmp_path, "missing", prompt="now here")
    assert keeper.refresh() == {"missing"}
    assert keeper.users_of({"missing"}) == {"t3"}
    keeper.forget("t1")
    keeper.note("t2", ())
    assert keeper.users_of({"base"}) == set()


# -- check ------------------------------------------------------------------------------------


def test_check_reports_every_template_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template(tmp_path, "a", config="extends: b\n", schedule=WEEKLY, prompt="p")
    template(tmp_path, "b", config="extends: a\n")
    template(tmp_path, "bad", config="executor: echo\ntimeout: soon\n", schedule=WEEKLY)
    template(tmp_path, "orphan", config="extends: nowhere\n")  # no task extends it
    template(tmp_path, "good", config="executor: echo\n", schedule=WEEKLY, prompt="p")
    task(tmp_path, "fine", config="extends: good\n")
    task(tmp_path, "looped", config="extends: a\n")
    task(tmp_path, "lost", config="\nextends: weekly\n")
    task(tmp_path, "uses-bad-1", config="extends: bad\n", prompt="p")
    task(tmp_path, "uses-bad-2", config="extends: bad\n", prompt="p")
    task(tmp_path, "typed", config="extends: [good]\n", schedule=WEEKLY, prompt="p")
    (tmp_path / "bassi.yaml").write_text("defaults:\n  extends: good\n")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr()
    err = out.err.splitlines()
    assert "ok  fine: every Monday at 09:00, Europe/Rome" in out.out
    assert err[0] == (
        "bassi.yaml:2: defaults: extends: a task names its template in its own config.yaml, "
        "not here"
    )
    assert (
        "lost/config.yaml:2: extends: 'weekly' not found in .templates/; there are: "
        "a, b, bad, good, orphan"
    ) in err
    assert (
        "typed/config.yaml:1: extends: expected the name of a template (a folder in "
        ".templates/), got a list"
    ) in err
    # A template's problem is said once, with the tasks it breaks.
    assert (
        ".templates/b/config.yaml:1: extends: a loop of templates: a -> b -> a (in task looped)"
    ) in err
    assert (
        ".templates/bad/config.yaml:2: timeout: expected a number > 0, got 'soon' "
        "(in task uses-bad-1, uses-bad-2)"
    ) in err
    assert (
        ".templates/orphan/config.yaml:1: extends: 'nowhere' not found in .templates/; "
        "there are: a, b, bad, good, orphan"
    ) in err
    assert err[-1] == "6 task(s), 5 with problems; 3 template(s) with problems; " + (
        "bassi.yaml has problems (tasks checked without its defaults)"
    )


def test_check_passes_a_tasks_dir_whose_templates_are_all_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template(tmp_path, "weekly", config="executor: echo\n", schedule=WEEKLY, prompt="p")
    template(tmp_path, "unused", config="timeout: 5\n")
    task(tmp_path, "t", config="extends: weekly\n")
    assert main(["check", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 task(s), 0 with problems"


def test_next_and_run_read_the_tasks_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template(tmp_path, "w", config="executor: echo\n", schedule=WEEKLY, prompt="hi {task_name}")
    task(tmp_path, "t", config="extends: w\n")
    assert main(["next", "t", "-n", "2", "--tasks-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("T09:00:00+0" in line for line in lines)
    assert main(["run", "t", "--tasks-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "hi t"
