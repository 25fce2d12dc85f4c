"""config.yaml ``expect:``: every key, every bad value, each problem on its own line."""

from __future__ import annotations

import pytest

from bassi_tui.store.models import ExpectConfig, TaskProblem
from bassi_tui.store.parse import parse_config
from bassi_tui.store.parse_common import Field, Report
from bassi_tui.store.parse_expect import read_expect
from bassi_tui.store.yamlio import YMap, load_yaml


def read(text: str) -> tuple[ExpectConfig | None, list[tuple[int | None, str]]]:
    """read_expect over the value of a document's `expect:` key (on line 1)."""
    node = load_yaml(text)
    assert isinstance(node, YMap)
    key, value = node.entries[0]
    report = Report("t", "config.yaml")
    expect = read_expect(Field("expect", key.line, value), report)
    return expect, [(p.line, p.message) for p in report.sorted()]


def ok(text: str) -> ExpectConfig:
    expect, problems = read(text)
    assert problems == []
    assert expect is not None
    return expect


def test_every_key_is_read() -> None:
    expect = ok(
        "expect:\n"
        "  contains: Total revenue\n"
        "  not_contains: [ERROR, Traceback]\n"
        "  regex: '^Total: \\d+'\n"
        "  min_chars: 100\n"
        "  max_chars: 20000\n"
        "  json: yes\n"
        "  command: [python3, check.py, --strict]\n"
    )
    assert expect == ExpectConfig(
        contains=("Total revenue",),
        not_contains=("ERROR", "Traceback"),
        regex=(r"^Total: \d+",),
        min_chars=100,
        max_chars=20000,
        json=True,
        command=("python3", "check.py", "--strict"),
    )
    assert not expect.empty


def test_texts_keep_their_source_and_lists_may_be_empty() -> None:
    expect = ok("expect:\n  contains: [1.10, yes, 'a: b']\n  regex: []\n")
    assert expect.contains == ("1.10", "yes", "a: b")
    assert expect.regex == ()


def test_empty_mapping_checks_nothing() -> None:
    assert ok("expect: {}\n").empty


def test_wired_into_config_yaml() -> None:
    config, problems = parse_config("t", "timeout: 5\nexpect:\n  contains: done\n")
    assert problems == []
    assert config.expect == ExpectConfig(contains=("done",))
    config, _ = parse_config("t", "timeout: 5\n")
    assert config.expect.empty


def test_problems_through_config_yaml_name_file_and_line() -> None:
    _, problems = parse_config("t", "timeout: 5\nexpect:\n  min_chars: -1\n")
    assert problems == [
        TaskProblem(
            "t", "config.yaml", 3, "expect.min_chars: expected a whole number >= 0, got '-1'"
        )
    ]


def test_not_a_mapping() -> None:
    expect, problems = read("expect: [a]\n")
    assert expect is None
    assert problems == [
        (
            1,
            "expect: expected a mapping of contains, not_contains, regex, min_chars, "
            "max_chars, json, command, got a list",
        )
    ]


def test_unknown_key_suggests() -> None:
    expect, problems = read("expect:\n  contains: a\n  not_contain: b\n")
    assert expect == ExpectConfig(contains=("a",))
    assert problems == [
        (
            3,
            "unknown key 'expect.not_contain' (did you mean 'not_contains'?); expected one of: "
            "contains, not_contains, regex, min_chars, max_chars, json, command",
        )
    ]


@pytest.mark.parametrize("key", ["contains", "not_contains", "regex"])
def test_bad_list_items_are_reported_on_their_lines_and_dropped(key: str) -> None:
    expect, problems = read(f"expect:\n  {key}:\n    - fine\n    - ''\n    - [x]\n    - ~\n")
    assert expect is not None
    assert getattr(expect, key) == ("fine",)
    assert problems == [
        (4, f"expect.{key}: expected a non-empty string, got an empty string"),
        (5, f"expect.{key}: expected a non-empty string, got a list"),
        (6, f"expect.{key}: expected a non-empty string, got nothing"),
    ]


def test_a_mapping_is_not_a_string() -> None:
    expect, problems = read("expect:\n  contains:\n    a: b\n")
    assert expect == ExpectConfig()
    assert problems == [(3, "expect.contains: expected a non-empty string, got a mapping")]


def test_bad_regex_names_its_line_and_the_error() -> None:
    expect, problems = read("expect:\n  regex:\n    - ok\\d\n    - '(unclosed'\n    - '[z-a]'\n")
    assert expect is not None and expect.regex == ("ok\\d",)
    assert problems == [
        (
            4,
            "expect.regex: '(unclosed' is not a valid regular expression: "
            "missing ), unterminated subpattern at position 0",
        ),
        (
            5,
            "expect.regex: '[z-a]' is not a valid regular expression: "
            "bad character range z-a at position 1",
        ),
    ]


def test_only_bad_regexes_leave_no_regex_check() -> None:
    expect, problems = read("expect:\n  regex: '*'\n")
    assert expect is not None and expect.regex == ()
    assert problems == [
        (2, "expect.regex: '*' is not a valid regular expression: nothing to repeat at position 0")
    ]


@pytest.mark.parametrize("key", ["min_chars", "max_chars"])
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("-1", "'-1'"),
        ("1.5", "'1.5'"),
        ("lots", "'lots'"),
        ("'10'", "'10' (a string: remove the quotes)"),
    ],
)
def test_bad_char_bounds(key: str, value: str, shown: str) -> None:
    expect, problems = read(f"expect:\n  contains: x\n  {key}: {value}\n")
    assert expect == ExpectConfig(contains=("x",))
    assert problems == [(3, f"expect.{key}: expected a whole number >= 0, got {shown}")]


def test_min_above_max_is_reported_and_both_dropped() -> None:
    expect, problems = read("expect:\n  min_chars: 50\n  max_chars: 10\n")
    assert expect == ExpectConfig()
    assert problems == [
        (3, "expect.max_chars: 10 is less than expect.min_chars 50 (line 2); no output could pass")
    ]
    assert ok("expect:\n  min_chars: 10\n  max_chars: 10\n").max_chars == 10


def test_bad_json_flag() -> None:
    expect, problems = read("expect:\n  json: sure\n")
    assert expect == ExpectConfig()
    assert problems == [(2, "expect.json: expected true or false, got 'sure'")]


@pytest.mark.parametrize(
    ("value", "line", "message"),
    [
        (
            "check.sh",
            2,
            'expect.command: expected a list (argv), e.g. ["python3", "check.py"]; got text',
        ),
        (
            "[]",
            2,
            "expect.command: empty list; expected the program and its arguments, "
            'e.g. ["python3", "check.py"]',
        ),
        (
            "\n    - sh\n    - ''",
            4,
            "expect.command: argument 2 is text; expected a non-empty string",
        ),
        (
            "\n    - sh\n    - [x]",
            4,
            "expect.command: argument 2 is a list; expected a non-empty string",
        ),
    ],
)
def test_bad_command(value: str, line: int, message: str) -> None:
    expect, problems = read(f"expect:\n  command: {value}\n")
    assert expect == ExpectConfig()
    assert problems == [(line, message)]
