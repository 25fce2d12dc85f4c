"""config.yaml validation: defaults, every key, and that secrets never reach a message."""

from __future__ import annotations

import pytest

from bassi_tui.store.models import (
    LOG_CHANNEL,
    NotifyChannel,
    NotifyConfig,
    OutputConfig,
    TaskConfig,
    TaskProblem,
)
from bassi_tui.store.parse import parse_config


def ok(text: str) -> TaskConfig:
    config, problems = parse_config("t", text)
    assert problems == []
    return config


def one(text: str) -> TaskProblem:
    _, problems = parse_config("t", text)
    assert len(problems) == 1, problems
    return problems[0]


def test_empty_config_is_all_defaults() -> None:
    for text in ("", "# nothing\n", "---\n"):
        config = ok(text)
        assert config == TaskConfig()
        assert (config.timeout, config.max_retries, config.executor) == (600.0, 3, "agent")
        assert (config.output.keep_history, config.missed_task_policy) == (30, "skip")


def test_every_key_is_read() -> None:
    config = ok(
        "timeout: 30\n"
        "retry_on_failure: no\n"
        "max_retries: 0\n"
        "retry_delay: 2.5\n"
        "notify:\n"
        "  on_success: true\n"
        "  on_failure: false\n"
        "  channels: [log, 'json://127.0.0.1:8123/hook']\n"
        "output:\n"
        "  format: Markdown\n"
        "  keep_history: 0\n"
        "  auto_cleanup: false\n"
        "environment:\n"
        "  REGION: eu\n"
        "missed_task_policy: catchup\n"
        "executor: command\n"
        "model: claude-haiku-4-5\n"
        "max_tokens: 100\n"
        "system: |\n"
        "  Be brief.\n"
        "command: [python3, -c, 'print(1)']\n"
        "overlap: queue\n"
    )
    assert config.timeout == 30.0
    assert (config.retry_on_failure, config.max_retries, config.retry_delay) == (False, 0, 2.5)
    assert config.notify == NotifyConfig(
        True, False, channels=(LOG_CHANNEL, NotifyChannel("apprise", "json://127.0.0.1:8123/hook"))
    )
    assert config.output == OutputConfig("markdown", 0, False)
    assert config.environment == {"REGION": "eu"}
    assert (config.missed_task_policy, config.executor, config.overlap) == (
        "catchup",
        "command",
        "queue",
    )
    assert (config.model, config.max_tokens, config.system) == (
        "claude-haiku-4-5",
        100,
        "Be brief.\n",
    )
    assert config.command == ("python3", "-c", "print(1)")


def test_empty_nested_block_means_defaults() -> None:
    config = ok("notify:\n  # on_success: true\noutput:\nsystem:\n")
    assert (config.notify, config.output, config.system) == (NotifyConfig(), OutputConfig(), None)


def test_environment_values_are_source_text() -> None:
    config = ok("environment:\n  VERSION: 1.10\n  DEBUG: yes\n  PORT: 0800\n  EMPTY:\n  Q: 'x y'\n")
    assert config.environment == {
        "VERSION": "1.10",
        "DEBUG": "yes",
        "PORT": "0800",
        "EMPTY": "",
        "Q": "x y",
    }


def test_command_arguments_keep_their_source_text() -> None:
    assert ok("executor: command\ncommand: [sleep, 5, yes]\n").command == ("sleep", "5", "yes")


def test_command_executor_without_command() -> None:
    p = one("timeout: 5\nexecutor: command\n")
    assert p.line == 2
    assert "executor command needs `command:`" in p.message


def test_command_executor_with_a_misspelt_command_is_one_problem() -> None:
    p = one("executor: command\ncomand: [cat]\n")
    assert p.line == 2 and "did you mean 'command'?" in p.message


def test_command_executor_with_empty_command_list() -> None:
    p = one("executor: command\ncommand: []\n")
    assert p.line == 2
    assert "command: empty list" in p.message


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("timeout: 0\n", 1, "timeout: expected a number > 0, got '0'"),
        ("timeout: soon\n", 1, "timeout: expected a number > 0, got 'soon'"),
        ("timeout: .nan\n", 1, "timeout: expected a number > 0"),
        ("retry_on_failure: 'yes'\n", 1, "retry_on_failure: expected true or false, got 'yes'"),
        ("max_retries: -1\n", 1, "max_retries: expected a whole number >= 0, got '-1'"),
        ("max_retries: 2.5\n", 1, "max_retries: expected a whole number >= 0"),
        ("max_retries: true\n", 1, "max_retries: expected a whole number >= 0, got 'true'"),
        ("retry_delay: -1\n", 1, "retry_delay: expected a number >= 0"),
        ("notify: yes\n", 1, "notify: expected a mapping of on_failure, on_recovery, on_success"),
        (
            "notify:\n  on_sucess: true\n",
            2,
            "unknown key 'notify.on_sucess' (did you mean 'on_success'?)",
        ),
        (
            "notify:\n  channels: email\n",
            2,
            "notify.channels: expected a list of channels, each log",
        ),
        (
            "notify:\n  channels:\n    - log\n    - ''\n",
            4,
            "notify.channels: expected log, an Apprise URL",
        ),
        (
            "output:\n  format: html\n",
            2,
            "output.format: 'html' is not one of text, json, markdown",
        ),
        ("output:\n  keep_history: -3\n", 2, "output.keep_history: expected a whole number >= 0"),
        ("output:\n  auto_cleanup: 1\n", 2, "output.auto_cleanup: expected true or false"),
        (
            "missed_task_policy: run\n",
            1,
            "missed_task_policy: 'run' is not one of skip, catchup, notify",
        ),
        ("executor: claude\n", 1, "executor: 'claude' is not one of anthropic, command, echo"),
        ("model: ''\n", 1, "model: expected a non-empty string"),
        ("model: 4\n", 1, "model: expected a string, got '4'"),
        ("max_tokens: 0\n", 1, "max_tokens: expected a whole number >= 1, got '0'"),
        ("system: [a]\n", 1, "system: expected a string, got a list"),
        ("command: cat file.txt\n", 1, "command: expected a list (argv)"),
        (
            "command:\n  - cat\n  - ''\n",
            3,
            "command: argument 2 is text; expected a non-empty string",
        ),
        ("command: [cat, [x]]\n", 1, "command: argument 2 is a list"),
        ("overlap: parallel\n", 1, "overlap: 'parallel' is not one of skip, queue, allow"),
        ("modle: x\n", 1, "unknown key 'modle' (did you mean 'model'?); expected one of: timeout,"),
        ("timeout: 1\ntimeout: 2\n", 2, "duplicate key 'timeout' (first on line 1)"),
        ("[1, 2]\n", 1, "expected a mapping of `key: value` lines, got a list"),
        ("environment: [A=1]\n", 1, "environment: expected a mapping of NAME: value, got a list"),
        ("environment:\n  A=B: 1\n", 2, "environment: 'A=B' is not a valid variable name"),
    ],
)
def test_bad_values_name_the_line_and_what_was_expected(
    text: str, line: int, expected: str
) -> None:
    p = one(text)
    assert (p.task, p.file, p.line) == ("t", "config.yaml", line)
    assert expected in p.message


def test_bad_value_falls_back_to_its_default_and_keeps_the_rest() -> None:
    config, problems = parse_config("t", "timeout: -1\nmax_retries: 7\noutput:\n  format: pdf\n")
    assert [p.line for p in problems] == [1, 4]
    assert (config.timeout, config.max_retries, config.output.format) == (600.0, 7, "text")


SECRET = "sk-ant-SECRET-1234"


@pytest.mark.parametrize(
    "text",
    [
        f"environment:\n  TOKEN: [{SECRET}]\n",
        f"environment:\n  TOKEN: {{nested: {SECRET}}}\n",
        f"environment:\n  TOKEN: !!int {SECRET}\n",
        f"environment:\n  TOKEN: {SECRET}: x\n",
        f"environment:\n  TOKEN: '{SECRET}\n",
        f'environment:\n  TOKEN: "{SECRET}\\0"\n',
        f"environment:\n  TOKEN: {SECRET}\n  TOKEN: {SECRET}\n",
    ],
)
def test_environment_values_never_appear_in_problems(text: str) -> None:
    config, problems = parse_config("t", text)
    assert problems, "each case has a problem"
    for p in problems:
        assert SECRET not in str(p)
    assert SECRET not in repr(config)


def test_problems_are_sorted_and_all_reported() -> None:
    _, problems = parse_config("t", "overlap: x\ntimeout: 0\nmodle: m\nexecutor: command\n")
    assert [p.line for p in problems] == [1, 2, 3, 4]


def test_quoted_numbers_and_booleans_get_a_hint() -> None:
    _, problems = parse_config("t", "timeout: '30'\nretry_on_failure: \"false\"\nmax_retries: x\n")
    assert [p.message.endswith("(a string: remove the quotes)") for p in problems] == [
        True,
        True,
        False,
    ]
