"""Pause/resume (``p``) edits schedule.yaml: a valid shape stays valid, only `enabled` moves."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bassi_tui.store.edit import set_enabled, with_enabled
from bassi_tui.store.models import Schedule
from bassi_tui.store.parse import load_task
from bassi_tui.store.parse_schedule import parse_schedule
from tests.helpers import make_task

# Valid schedule.yaml files of many shapes; each must stay valid with only `enabled` changed.
VALID_SHAPES = {
    "block": 'type: daily\ntime: "09:00"\n',
    "block with enabled": 'type: daily\nenabled: true\ntime: "09:00"\n',
    "no trailing newline": 'type: daily\ntime: "09:00"',
    "no trailing newline, enabled last": 'type: daily\ntime: "09:00"\nenabled: true',
    "comments everywhere": '# head\ntype: daily  # kind\n# mid\ntime: "09:00"\n# tail\n',
    "comment after enabled": 'type: daily\nenabled: true   # paused? no\ntime: "09:00"\n',
    "crlf": 'type: daily\r\ntime: "09:00"\r\n',
    "crlf with enabled": 'type: daily\r\nenabled: true\r\ntime: "09:00"\r\n',
    "crlf, enabled and comment": 'type: daily\r\nenabled: yes # on\r\ntime: "09:00"\r\n',
    "document start": '---\ntype: daily\ntime: "09:00"\n',
    "document end": 'type: daily\ntime: "09:00"\n...\n',
    "document start and end": '---\ntype: daily\ntime: "09:00"\n...\n',
    "document end, enabled": 'type: daily\nenabled: true\ntime: "09:00"\n...\n',
    "document end, no newline": 'type: daily\ntime: "09:00"\n...',
    "flow": '{type: daily, time: "09:00"}\n',
    "flow, no newline": '{type: daily, time: "09:00"}',
    "flow with enabled": '{type: daily, time: "09:00", enabled: true}\n',
    "flow over lines": '{\n  type: weekly,\n  day: [monday, thursday],\n  time: "07:15"\n}\n',
    "flow, unquoted time (base 60)": "{type: daily, time: 10:30}\n",
    "block, unquoted time, end": "type: daily\ntime: 10:30\n...\n",
    "weekly list, flow": "{type: weekly, day: [mon, thu], time: '09:00', timezone: Asia/Tokyo}\n",
    "once, unquoted datetime, end": "type: once\ndatetime: 2026-05-01 10:00:00\n...\n",
    "cron, flow": "{type: cron, cron: '*/5 9-17 * * 1-5'}\n",
    "interval, jitter": "type: interval\nminutes: 5\njitter: 30\n",
    "quoted key": '"enabled": true\ntype: daily\ntime: "09:00"\n',
    "quoted values": "type: \"daily\"\nenabled: true\ntime: '09:00'  # enabled: false?\n",
    "empty value": 'type: daily\nenabled:\ntime: "09:00"\n',
    "spaced colon": 'type: daily\nenabled  :  true\ntime: "09:00"\n',
    "indented root mapping": '  type: daily\n  time: "09:00"\n',
    "tabbed comment": 'type: daily\t# a tab\ntime: "09:00"\n',
    "utf-8 comment": '# täglich um neun ☕\ntype: daily\ntime: "09:00"\n',
    "trailing blank lines": 'type: daily\ntime: "09:00"\n\n\n',
    "comment-only last line, no newline": 'type: daily\ntime: "09:00"\n# end',
}


def schedule_of(text: str) -> Schedule:
    """The parsed schedule; the test fails if the text is not a valid schedule."""
    schedule, problems = parse_schedule("t", text)
    assert problems == [], (text, problems)
    assert schedule is not None
    return schedule


@pytest.mark.parametrize("enabled", [False, True])
@pytest.mark.parametrize("text", VALID_SHAPES.values(), ids=VALID_SHAPES.keys())
def test_a_valid_schedule_stays_valid_with_only_enabled_changed(text: str, enabled: bool) -> None:
    before = schedule_of(text)
    after = schedule_of(with_enabled(text, enabled))
    assert after == replace(before, enabled=enabled)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('# head\ntype: daily  # kind\ntime: "09:00"\n# tail\n', ["# head", "# kind", "# tail"]),
        ('type: daily\nenabled: true   # paused? no\ntime: "09:00"\n', ["   # paused? no"]),
        ('type: daily\r\nenabled: true # on\r\ntime: "09:00"\r\n', ["# on\r\n"]),
        ('---\n# head\ntype: daily\ntime: "09:00"\n', ["---\n# head"]),
    ],
)
def test_block_style_is_edited_in_place_and_keeps_comments(text: str, kept: list[str]) -> None:
    edited = with_enabled(text, False)
    for piece in kept:
        assert piece in edited
    assert edited.count("enabled") == 1


def test_crlf_files_keep_their_line_endings() -> None:
    edited = with_enabled('type: daily\r\ntime: "09:00"\r\n', False)
    assert edited == 'type: daily\r\ntime: "09:00"\r\nenabled: false\r\n'
    edited = with_enabled('type: daily\r\nenabled: true\r\ntime: "09:00"\r\n', False)
    assert edited == 'type: daily\r\nenabled: false\r\ntime: "09:00"\r\n'


def test_an_enabled_key_in_a_nested_mapping_is_not_the_schedules() -> None:
    text = "type: daily\nx:\n  enabled: true\n"
    edited = with_enabled(text, False)
    assert edited == "type: daily\nx:\n  enabled: true\nenabled: false\n"


@pytest.mark.parametrize(
    "text",
    [
        'note: "x\nenabled: true"\n',  # a quoted value's continuation line looks like the key
        'note: "x\nenabled: true"\nenabled: true\n',
        'type: daily\nenabled: "a # b"\n',  # a "#" inside quotes is no comment
        "text: |\n  enabled: true\n",  # a block scalar's line
        "a: {enabled: true}\nb: [\nenabled: true]\n",  # nested, flow
        "enabled: true#not-a-comment\n",
        "enabled: true\nenabled: false\n",  # duplicates: both are set
    ],
)
def test_with_enabled_changes_only_the_top_level_enabled_of_any_mapping(text: str) -> None:
    expected = {**yaml.safe_load(text), "enabled": False}
    assert yaml.safe_load(with_enabled(text, False)) == expected


def test_an_unquoted_time_survives_the_rewrite_as_written() -> None:
    # YAML 1.1 reads 10:30 as the integer 630; a naive safe_dump would write `time: 630`.
    edited = with_enabled("{type: daily, time: 10:30}", False)
    assert "time: 10:30" in edited
    assert schedule_of(edited).at is not None


@pytest.mark.parametrize(
    "text",
    ["type: daily\ntime: [\n", "- a list\n- not a mapping\n", "just text\n", "a: *nope\n"],
    ids=["syntax error", "a list", "a scalar", "an alias"],
)
def test_with_enabled_refuses_what_is_not_a_yaml_mapping(text: str) -> None:
    with pytest.raises(ValueError):
        with_enabled(text, False)


@pytest.mark.parametrize("enabled", [False, True])
@pytest.mark.parametrize(
    "text",
    [VALID_SHAPES["flow"], VALID_SHAPES["document end"], VALID_SHAPES["crlf with enabled"]],
    ids=["flow", "document end", "crlf"],
)
def test_set_enabled_on_real_files_and_the_task_loads(
    tmp_path: Path, text: str, enabled: bool
) -> None:
    folder = make_task(tmp_path, "t", schedule=text)
    set_enabled(folder, enabled)
    task = load_task(folder)
    assert task.problems == ()
    assert task.schedule == replace(schedule_of(text), enabled=enabled)


@pytest.mark.parametrize(
    "text",
    [
        "type: daily\ntime: [\n",  # not YAML
        "- type: daily\n",  # not a mapping
        "type: daily\ntiem: '09:00'\n",  # a schedule with a problem
        "",  # empty
        b"type: daily\ntime: '09:00'\n# \xff\n",  # not UTF-8
    ],
    ids=["syntax", "list", "unknown key", "empty", "not utf-8"],
)
def test_set_enabled_leaves_an_invalid_file_untouched_and_names_it(
    tmp_path: Path, text: str | bytes
) -> None:
    folder = make_task(tmp_path, "broken")
    schedule = folder / "schedule.yaml"
    data = text.encode() if isinstance(text, str) else text
    schedule.write_bytes(data)
    before = os.stat(schedule)
    with pytest.raises(ValueError) as caught:
        set_enabled(folder, False)
    assert str(schedule) in str(caught.value)
    assert schedule.read_bytes() == data
    assert os.stat(schedule).st_ino == before.st_ino  # not even rewritten with the same bytes


def test_set_enabled_refuses_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text('type: daily\ntime: "09:00"\n')
    folder = make_task(tmp_path, "t")
    (folder / "schedule.yaml").unlink()
    (folder / "schedule.yaml").symlink_to(outside)
    with pytest.raises(ValueError, match="outside the task folder"):
        set_enabled(folder, False)
    assert outside.read_text() == 'type: daily\ntime: "09:00"\n'


def test_set_enabled_to_the_current_value_writes_nothing(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "t", schedule='type: daily\ntime: "09:00"\nenabled: false\n')
    inode = os.stat(folder / "schedule.yaml").st_ino
    set_enabled(folder, False)
    assert os.stat(folder / "schedule.yaml").st_ino == inode
