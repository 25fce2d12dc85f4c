"""Reading a task folder into a :class:`~bassi_tui.store.models.Task`.

:func:`load_task` never raises on bad content: every problem in every file is collected into
``Task.problems`` so one ``bassi-tui check`` shows them all.

The three files are read defensively, because a task folder may come from a git repository
someone else controls:

- each must be a regular file: a FIFO is never opened (it would block), a device
  (``/dev/urandom``) or a directory is refused;
- a symlink is followed only if it stays inside the task folder, so ``prompt.txt ->
  ~/.ssh/id_rsa`` cannot ship a secret to an API;
- sizes are capped (256 KiB YAML, 1 MiB prompt) before reading, and again while reading in
  case the file grows in between;
- text must be UTF-8 (a leading byte-order mark is dropped).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bassi_tui.store.defaults import Defaults
from bassi_tui.store.models import (
    CONFIG_FILE,
    PROMPT_FILE,
    SCHEDULE_FILE,
    Schedule,
    Task,
    TaskConfig,
    TaskProblem,
)
from bassi_tui.store.parse_config import parse_config
from bassi_tui.store.parse_schedule import parse_schedule
from bassi_tui.store.yamlio import YAML_MAX_BYTES

__all__ = [
    "PROMPT_MAX_BYTES",
    "YAML_MAX_BYTES",
    "load_task",
    "parse_config",
    "parse_schedule",
    "read_task_file",
]

PROMPT_MAX_BYTES = 1024 * 1024
"""prompt.txt files bigger than this are refused unread."""

_MISSING = {
    SCHEDULE_FILE: 'schedule.yaml is missing; expected one, e.g. `type: daily` and `time: "09:00"`',
    PROMPT_FILE: "prompt.txt is missing; expected one holding the prompt text",
}


class FileRefused(Exception):
    """A task file that was not read; the message says why and what was expected."""


def load_task(folder: Path, defaults: Defaults | None = None) -> Task:
    """Read and validate the task folder ``folder``; the task is named after the folder.

    Never raises for bad content: problems (missing or unsafe files, YAML errors, bad values)
    are all collected in ``Task.problems``, with ``schedule``/``prompt``/``config`` set where
    they could be read. ``schedule`` is None whenever schedule.yaml has any problem.
    ``defaults`` (bassi.yaml's) apply under config.yaml, and to a task without one too.
    """
    name = folder.name
    problems: list[TaskProblem] = []

    def read(file: str, max_bytes: int, *, required: bool) -> str | None:
        try:
            data = read_task_file(folder, file, max_bytes)
        except FileNotFoundError:
            if required:
                problems.append(TaskProblem(name, file, None, _MISSING[file]))
            return None
        except FileRefused as exc:
            problems.append(TaskProblem(name, file, None, str(exc)))
            return None
        try:
            return data.decode("utf-8-sig")  # editors on Windows like to add a BOM
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            byte = exc.object[exc.start]
            message = f"{file} is not valid UTF-8 (byte {byte:#04x}); expected UTF-8 text"
            problems.append(TaskProblem(name, file, line, message))
            return None

    schedule: Schedule | None = None
    schedule_text = read(SCHEDULE_FILE, YAML_MAX_BYTES, required=True)
    if schedule_text is not None:
        schedule, found = parse_schedule(name, schedule_text)
        problems.extend(found)

    prompt = read(PROMPT_FILE, PROMPT_MAX_BYTES, required=True)
    if prompt is not None and not prompt.strip():
        problems.append(
            TaskProblem(name, PROMPT_FILE, None, "prompt.txt is empty; expected the prompt text")
        )
        prompt = None

    config = TaskConfig()
    config_text = read(CONFIG_FILE, YAML_MAX_BYTES, required=False)
    if config_text is None and defaults is not None:
        config_text = ""  # no config.yaml: the defaults are the whole config
    if config_text is not None:
        config, found = parse_config(name, config_text, folder=folder, defaults=defaults)
        problems.extend(found)

    return Task(
        name=name,
        path=folder,
        schedule=schedule,
        config=config,
        prompt=prompt,
        problems=tuple(problems),
    )


def read_task_file(folder: Path, file: str, max_bytes: int) -> bytes:
    """The bytes of ``folder/file``, only if it is a safe, regular file of at most ``max_bytes``.

    Raises FileNotFoundError when it does not exist (a dangling symlink counts as refused, not
    missing) and :class:`FileRefused` with a message for everything else.
    """
    path = folder / file
    try:
        return _read(folder, path, file, max_bytes)
    except (FileNotFoundError, FileRefused):
        raise  # missing: the caller decides whether that is fine
    except OSError as exc:  # permissions, I/O errors, a folder that is really a file...
        raise FileRefused(
            f"{file} cannot be read ({exc.strerror or exc}); expected a readable file"
        ) from None


def _read(folder: Path, path: Path, file: str, max_bytes: int) -> bytes:
    info = os.lstat(path)
    target = path
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
            inside = target.is_relative_to(folder.resolve(strict=True))
        except (OSError, RuntimeError):  # dangling, a loop (RuntimeError before 3.13)
            raise FileRefused(f"{file} is a broken symlink; expected a regular file") from None
        if not inside:
            raise FileRefused(
                f"{file} is a symlink to outside the task folder; refused "
                "(copy the file into the folder instead)"
            )
        info = os.stat(target)
    _check_regular(file, info, max_bytes)

    # O_NOFOLLOW: the final component was checked above and must not turn into a symlink now;
    # O_NONBLOCK: if it was swapped for a FIFO meanwhile, open() must not wait for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(target, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        opened = os.fstat(fd)
        # The file we opened must be the one we checked (it may have been replaced meanwhile).
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise FileRefused(f"{file} changed while being read; try again")
        _check_regular(file, opened, max_bytes)
        data = _read_fd(fd, opened.st_size, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileRefused(_too_big(file, max_bytes))
    return data


def _read_fd(fd: int, size: int, limit: int) -> bytes:
    """Up to ``limit`` bytes of ``fd``: one read of the size fstat gave, more only if it grew.

    Asking for exactly what is there (not the limit) keeps a 100-byte file from allocating a
    1 MiB buffer each time: that was most of the cost of reading a task at start-up.
    """
    chunks: list[bytes] = []
    want = limit
    ask = min(limit, size + 1)
    while want > 0:
        chunk = os.read(fd, min(want, ask))
        if not chunk:
            break
        chunks.append(chunk)
        want -= len(chunk)
        ask = 64 * 1024
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_regular(file: str, info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"{file} is {_kind_of(info.st_mode)}; expected a regular file (not read)")
    if info.st_size > max_bytes:
        raise FileRefused(_too_big(file, max_bytes))


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _too_big(file: str, max_bytes: int) -> str:
    return f"{file} is larger than the {max_bytes // 1024} KiB limit; not read"
