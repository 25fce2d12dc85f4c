"""load_task: whole task folders, file safety (symlinks, FIFOs, devices, sizes) and encodings."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path

import pytest

from bassi_tui.store.models import Task, TaskConfig
from bassi_tui.store.parse import (
    PROMPT_MAX_BYTES,
    YAML_MAX_BYTES,
    FileRefused,
    load_task,
    read_task_file,
)

DAILY = "type: daily\ntime: 09:30\n"


def folder_with(
    tmp_path: Path,
    schedule: str | None = DAILY,
    prompt: str | bytes | None = "Summarise {date}.\n",
    config: str | None = None,
    name: str = "weekly-report",
) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, content in (
        ("schedule.yaml", schedule),
        ("prompt.txt", prompt),
        ("config.yaml", config),
    ):
        if isinstance(content, bytes):
            (folder / file).write_bytes(content)
        elif content is not None:
            (folder / file).write_text(content, encoding="utf-8")
    return folder


def problems_of(task: Task) -> list[tuple[str, int | None, str]]:
    return [(p.file, p.line, p.message) for p in task.problems]


def test_a_good_task(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, config="executor: echo\ntimeout: 5\n")
    task = load_task(folder)
    assert task.ok
    assert (task.name, task.path) == ("weekly-report", folder)
    assert task.schedule is not None and task.schedule.at == time(9, 30)
    assert task.prompt == "Summarise {date}.\n"
    assert (task.config.executor, task.config.timeout) == ("echo", 5.0)


def test_config_is_optional(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path))
    assert task.ok
    assert task.config == TaskConfig()


def test_empty_config_file_is_all_defaults(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path, config=""))
    assert task.ok and task.config == TaskConfig()


def test_missing_prompt(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path, prompt=None))
    assert not task.ok
    assert task.schedule is not None  # the schedule still parsed
    assert problems_of(task) == [
        ("prompt.txt", None, "prompt.txt is missing; expected one holding the prompt text")
    ]


def test_missing_schedule(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path, schedule=None))
    assert task.schedule is None and task.prompt is not None
    [(file, line, message)] = problems_of(task)
    assert (file, line) == ("schedule.yaml", None)
    assert message.startswith("schedule.yaml is missing; expected one")


@pytest.mark.parametrize("prompt", ["", "  \n\t\n"])
def test_empty_prompt(tmp_path: Path, prompt: str) -> None:
    task = load_task(folder_with(tmp_path, prompt=prompt))
    assert task.prompt is None
    assert problems_of(task) == [
        ("prompt.txt", None, "prompt.txt is empty; expected the prompt text")
    ]


def test_prompt_must_be_utf8_and_the_line_is_given(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path, prompt=b"line one\nline two \xff\n"))
    assert task.prompt is None
    [(file, line, message)] = problems_of(task)
    assert (file, line) == ("prompt.txt", 2)
    assert "not valid UTF-8 (byte 0xff)" in message


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    task = load_task(
        folder_with(tmp_path, schedule="\ufefftype: interval\nminutes: 5\n", prompt="\ufeffHi")
    )
    assert task.ok
    assert task.prompt == "Hi"


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path,
        schedule="type: daily\ntiem: 09:30\n",
        prompt="",
        config="timeout: -1\nexecutor: command\n",
    )
    task = load_task(folder)
    assert [(p.file, p.line) for p in task.problems] == [
        ("schedule.yaml", 2),  # unknown key 'tiem' (did you mean 'time'?)
        ("prompt.txt", None),
        ("config.yaml", 1),  # timeout
        ("config.yaml", 2),  # executor command without command
    ]
    assert all(p.task == "weekly-report" for p in task.problems)
    assert task.schedule is None and task.prompt is None
    assert task.config.executor == "command"  # the config keeps what did parse


def test_yaml_syntax_error_in_schedule(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path, schedule="type: daily\ntime: [09:30\n"))
    [(file, line, message)] = problems_of(task)
    assert (file, line) == ("schedule.yaml", 3)
    assert message.startswith("not valid YAML")


def test_python_tag_in_a_task_file_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = folder_with(
        tmp_path, config=f'timeout: !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    task = load_task(folder)
    assert problems_of(task) == [
        ("config.yaml", 1, "unsupported tag !!python/object/apply:os.system")
    ]
    assert not marker.exists()


# --- file safety ---------------------------------------------------------------------------


def test_symlink_to_a_file_outside_the_folder_is_refused_and_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    folder = folder_with(tmp_path, prompt=None)
    (folder / "prompt.txt").symlink_to(secret)
    task = load_task(folder)
    assert task.prompt is None
    [(file, line, message)] = problems_of(task)
    assert (file, line) == ("prompt.txt", None)
    assert "symlink to outside the task folder; refused" in message
    assert "BEGIN" not in message


def test_relative_symlink_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shared.yaml").write_text(DAILY)
    folder = folder_with(tmp_path, schedule=None)
    (folder / "schedule.yaml").symlink_to("../shared.yaml")
    task = load_task(folder)
    assert task.schedule is None
    assert "symlink to outside" in task.problems[0].message


def test_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, prompt=None)
    (folder / "prompts").mkdir()
    (folder / "prompts" / "v2.txt").write_text("version two")
    (folder / "prompt.txt").symlink_to("prompts/v2.txt")
    task = load_task(folder)
    assert task.ok and task.prompt == "version two"


def test_symlink_to_dev_urandom_is_refused(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, prompt=None)
    (folder / "prompt.txt").symlink_to("/dev/urandom")
    task = load_task(folder)
    assert task.prompt is None
    assert problems_of(task)[0][:2] == ("prompt.txt", None)
    assert "refused" in problems_of(task)[0][2]


def test_a_device_is_refused_even_inside_the_folder() -> None:
    # /dev plays the task folder here: urandom is "inside" it, so only the file type check stops it.
    with pytest.raises(FileRefused, match="urandom is a device; expected a regular file"):
        read_task_file(Path("/dev"), "urandom", YAML_MAX_BYTES)


def test_broken_symlink_is_refused_not_missing(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, config=None)
    (folder / "config.yaml").symlink_to(folder / "nowhere.yaml")
    task = load_task(folder)
    assert problems_of(task) == [
        ("config.yaml", None, "config.yaml is a broken symlink; expected a regular file")
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, prompt=None)
    os.mkfifo(folder / "prompt.txt")  # opening this for reading would block with no writer
    task = load_task(folder)
    assert problems_of(task) == [
        (
            "prompt.txt",
            None,
            "prompt.txt is a FIFO (named pipe); expected a regular file (not read)",
        )
    ]


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, schedule=None)
    (folder / "schedule.yaml").mkdir()
    task = load_task(folder)
    assert problems_of(task) == [
        ("schedule.yaml", None, "schedule.yaml is a directory; expected a regular file (not read)")
    ]


def test_oversize_prompt_is_refused(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path, prompt="x" * (PROMPT_MAX_BYTES + 1)))
    assert task.prompt is None
    assert problems_of(task) == [
        ("prompt.txt", None, "prompt.txt is larger than the 1024 KiB limit; not read")
    ]


def test_prompt_at_the_cap_is_fine(tmp_path: Path) -> None:
    task = load_task(folder_with(tmp_path, prompt="x" * PROMPT_MAX_BYTES))
    assert task.ok and task.prompt is not None and len(task.prompt) == PROMPT_MAX_BYTES


def test_oversize_yaml_is_refused(tmp_path: Path) -> None:
    schedule = DAILY + "#" * YAML_MAX_BYTES
    task = load_task(folder_with(tmp_path, schedule=schedule))
    assert task.schedule is None
    assert problems_of(task) == [
        ("schedule.yaml", None, "schedule.yaml is larger than the 256 KiB limit; not read")
    ]


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_task_file(tmp_path, "config.yaml", YAML_MAX_BYTES)


def test_folder_that_is_a_file_gives_problems_not_a_crash(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "oops"
    not_a_folder.write_text("x")
    task = load_task(not_a_folder)
    assert task.name == "oops"
    assert [p.file for p in task.problems] == ["schedule.yaml", "prompt.txt", "config.yaml"]
    assert "cannot be read" in task.problems[0].message
