"""config.yaml ``notify:``: every key, every channel form, and every bad input with its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bassi_tui.store.apprise_check import check_url
from bassi_tui.store.models import LOG_CHANNEL, NotifyChannel, NotifyConfig, TaskProblem
from bassi_tui.store.parse import parse_config

SECRET = "Sup3rSecretT0ken"


def ok(text: str, folder: Path | None = None) -> NotifyConfig:
    config, problems = parse_config("t", text, folder=folder)
    assert problems == []
    return config.notify


def problems(text: str) -> list[TaskProblem]:
    return parse_config("t", text)[1]


def one(text: str) -> TaskProblem:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_defaults_tell_the_log_about_failures_and_recoveries() -> None:
    for text in ("", "notify:\n", "notify:\n  channels:\n"):
        assert ok(text) == NotifyConfig()
    d = NotifyConfig()
    assert (d.on_failure, d.on_recovery, d.on_success, d.on_change) == (True, True, False, False)
    assert (d.repeat, d.channels) == ("first", (LOG_CHANNEL,))


def test_every_key_is_read() -> None:
    notify = ok(
        "notify:\n"
        "  on_failure: false\n"
        "  on_recovery: no\n"
        "  on_success: true\n"
        "  on_change: yes\n"
        "  repeat: Every\n"
        "  channels:\n"
        "    - log\n"
        "    - json://127.0.0.1:8123/hook\n"
        "    - 'ntfy://ntfy.sh/my-topic'\n"
        f"    - {{command: [{sys.executable}, -c, 'pass']}}\n"
    )
    assert notify == NotifyConfig(
        on_success=True,
        on_failure=False,
        on_recovery=False,
        on_change=True,
        repeat="every",
        channels=(
            LOG_CHANNEL,
            NotifyChannel("apprise", url="json://127.0.0.1:8123/hook"),
            NotifyChannel("apprise", url="ntfy://ntfy.sh/my-topic"),
            NotifyChannel("command", command=(sys.executable, "-c", "pass")),
        ),
    )


def test_an_empty_channel_list_means_no_channel() -> None:
    assert ok("notify:\n  channels: []\n").channels == ()


def test_a_command_channel_in_block_style(tmp_path: Path) -> None:
    script = tmp_path / "tell.sh"
    script.write_text("#!/bin/sh\ncat >/dev/null\n")
    script.chmod(0o755)
    notify = ok(
        "notify:\n  channels:\n    - command:\n        - ./tell.sh\n        - 8\n", tmp_path
    )
    assert notify.channels == (NotifyChannel("command", command=("./tell.sh", "8")),)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("notify: [log]\n", 1, "notify: expected a mapping of on_failure, on_recovery"),
        ("notify:\n  on_change: 'yes'\n", 2, "notify.on_change: expected true or false"),
        ("notify:\n  on_recovery: 1\n", 2, "notify.on_recovery: expected true or false"),
        ("notify:\n  repeat: always\n", 2, "notify.repeat: 'always' is not one of first, every"),
        ("notify:\n  repeat: firts\n", 2, "(did you mean 'first'?)"),
        ("notify:\n  on_falure: true\n", 2, "unknown key 'notify.on_falure' (did you mean"),
        ("notify:\n  channels: log\n", 2, "notify.channels: expected a list of channels"),
        ("notify:\n  channels:\n    - log\n    - 5\n", 4, "expected log, an Apprise URL"),
        ("notify:\n  channels:\n    -\n", 3, "notify.channels: expected log,"),
        ("notify:\n  channels:\n    - [log]\n", 3, "got a list"),
        ("notify:\n  channels:\n    - email\n", 3, "'email' is not a channel; give an Apprise"),
        ("notify:\n  channels:\n    - Webhook\n", 3, "e.g. json://host/path"),
        ("notify:\n  channels:\n    - desktop\n", 3, "e.g. dbus:// (Linux) or macosx://"),
        ("notify:\n  channels:\n    - pager\n", 3, "notify.channels: not a channel; expected log"),
        ("notify:\n  channels:\n\n    - foo://x/y\n", 4, "foo://***: unknown scheme 'foo://'"),
        ("notify:\n  channels:\n    - ntfyy://ntfy.sh/t\n", 3, "(did you mean 'ntfy://'?)"),
        ("notify:\n  channels:\n    - https://example.com/h\n", 3, "for a webhook use json://"),
        ("notify:\n  channels:\n    - slack://x\n", 3, "slack://***: not a valid Slack URL"),
        ('notify:\n  channels:\n    - "json://127.0.0.1/\\x1b"\n', 3, "control characters"),
        (
            "notify:\n  channels:\n    - log\n    - json://127.0.0.1:1/a\n    - log\n",
            5,
            "notify.channels: log is listed twice (first on line 3)",
        ),
        ("notify:\n  channels:\n    - {command: []}\n", 3, "got an empty list"),
        ("notify:\n  channels:\n    - {command: notify}\n", 3, "expected a list (argv)"),
        ("notify:\n  channels:\n    - {comand: [x]}\n", 3, "(did you mean 'command'?)"),
        ("notify:\n  channels:\n    - {}\n", 3, "a command channel needs command: [argv]"),
        (
            "notify:\n  channels:\n    - command: [cat]\n      env: {}\n",
            4,
            "unknown key 'notify.channels.env'",
        ),
        (
            "notify:\n  channels:\n    - command:\n        - cat\n        - ''\n",
            5,
            "notify.channels.command: argument 2 is text; expected a non-empty string",
        ),
        (
            "notify:\n  channels:\n    - command: [no-such-program-xyz]\n",
            3,
            "'no-such-program-xyz' is not found on PATH",
        ),
        (
            "notify:\n  channels:\n    - command: [/no/such/notify]\n",
            3,
            "'/no/such/notify' does not exist",
        ),
    ],
)
def test_bad_input_is_one_problem_on_its_line(text: str, line: int, expected: str) -> None:
    found = one(text)
    assert (found.file, found.line) == ("config.yaml", line)
    assert expected in found.message, found.message


def test_a_bad_channel_is_left_out_and_the_good_ones_kept() -> None:
    config, found = parse_config("t", "notify:\n  channels:\n    - email\n    - log\n")
    assert [p.line for p in found] == [3]
    assert config.notify.channels == (LOG_CHANNEL,)


def test_a_relative_program_is_checked_in_the_task_folder(tmp_path: Path) -> None:
    text = "notify:\n  channels:\n    - command: [./tell.sh]\n"
    assert parse_config("t", text)[1] == []  # no folder: cannot be known, not refused
    (found,) = parse_config("t", text, folder=tmp_path)[1]
    assert "'./tell.sh' does not exist" in found.message
    (tmp_path / "tell.sh").write_text("#!/bin/sh\n")
    (found,) = parse_config("t", text, folder=tmp_path)[1]
    assert "not an executable file" in found.message


@pytest.mark.parametrize(
    "url",
    [
        f"foo://user:{SECRET}@example.com/{SECRET}",
        f"slack://{SECRET}",
        f"twilio://{SECRET}:tok@",
        f"json://user:{SECRET}@:99x/",
        f"tgram://{SECRET}/chat",
        f"mailto://me:{SECRET}@",
        f"ntfyy://{SECRET}@ntfy.sh/t?token={SECRET}",
        f"https://example.com/hook/{SECRET}",
    ],
)
def test_no_problem_shows_a_secret(url: str) -> None:
    found = one(f"notify:\n  channels:\n    - '{url}'\n")
    assert found.line == 3
    assert SECRET not in found.message and SECRET not in str(found) and SECRET not in repr(found)


def test_a_bare_token_is_never_quoted() -> None:
    found = one(f"notify:\n  channels:\n    - {SECRET}\n")
    assert SECRET not in found.message and "not a channel" in found.message


def test_url_checks_are_cached_per_url() -> None:
    url = "json://127.0.0.1:8123/cached-check"
    check_url(url)
    hits = check_url.cache_info().hits
    ok(f"notify:\n  channels: ['{url}']\n")
    assert check_url.cache_info().hits == hits + 1


def _loaded_after(text: str) -> str:
    code = (
        "import sys\n"
        "from bassi_tui.store.parse import parse_config\n"
        f"config, problems = parse_config('t', {text!r})\n"
        "assert not problems, problems\n"
        "print('apprise' in sys.modules)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_apprise_is_imported_only_when_a_task_names_a_url() -> None:
    # Start-up reads every task folder: the ~0.3 s Apprise import is paid only for a URL.
    assert _loaded_after("notify:\n  on_success: true\n  channels: [log]\n") == "False"
    assert _loaded_after("notify:\n  channels: ['json://127.0.0.1:1/x']\n") == "True"
