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

import dataclasses
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from bassi_tui.store.defaults import Defaults
from bassi_tui.store.dependencies import dependency_problems
from bassi_tui.store.models import (
    CONFIG_FILE,
    PROMPT_FILE,
    SCHEDULE_FILE,
    Schedule,
    Task,
    TaskConfig,
    TaskProblem,
)
from bassi_tui.store.parse_common import Report, load_mapping
from bassi_tui.store.parse_config import parse_config, read_config
from bassi_tui.store.parse_schedule import parse_schedule
from bassi_tui.store.templates import NO_TEMPLATES, Templates, extended
from bassi_tui.store.templates import relocated as relocated_templates
from bassi_tui.store.yamlio import YAML_MAX_BYTES, YMap

__all__ = [
    "PROMPT_MAX_BYTES",
    "YAML_MAX_BYTES",
    "load_task",
    "parse_config",
    "parse_schedule",
    "read_task",
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


def load_task(
    folder: Path, defaults: Defaults | None = None, templates: Templates | None = None
) -> Task:
    """Read and validate the task folder ``folder``; the task is named after the folder.

    Never raises for bad content: problems (missing or unsafe files, YAML errors, bad values)
    are all collected in ``Task.problems``, with ``schedule``/``prompt``/``config`` set where
    they could be read. ``schedule`` is None whenever schedule.yaml has any problem.
    ``defaults`` (bassi.yaml's) apply under config.yaml, and to a task without one too;
    ``templates`` are those ``extends:`` may name (see :mod:`~bassi_tui.store.templates`).
    """
    return read_task(folder, defaults, templates)[0]


def read_task(
    folder: Path, defaults: Defaults | None = None, templates: Templates | None = None
) -> tuple[Task, tuple[str, ...]]:
    """:func:`load_task`, and the templates the task extends (its chain; empty: none)."""
    name = folder.name
    problems: list[TaskProblem] = []

    def read(file: str, max_bytes: int, *, missing: str | None) -> str | None:
        try:
            data = read_task_file(folder, file, max_bytes)
        except FileNotFoundError:
            if missing is not None:
                problems.append(TaskProblem(name, file, None, missing))
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

    # config.yaml first: its `extends:` says where the other files may come from. Its problems
    # are listed last all the same, as they always were.
    config_text = read(CONFIG_FILE, YAML_MAX_BYTES, missing=None)
    config_problems, problems = problems, []
    report = Report(name, CONFIG_FILE)
    mapping = None
    if config_text is not None:
        mapping = load_mapping(config_text, report, empty_message=None)
    elif defaults is not None:
        mapping = YMap((), 1)  # no config.yaml: the defaults are the whole config
    known = templates if templates is not None else NO_TEMPLATES
    base = extended(mapping, known, report)
    template = base.template if base is not None else None

    def needed(file: str, found: object) -> str | None:
        """What to say when the task has no ``file``: nothing when its template gives one."""
        if base is None:
            return _MISSING[file]
        if template is None or found is not None:
            return None  # the template is not found: its `extends:` line says so, once
        return f"{_MISSING[file]} (template '{base.name}' has none either)"

    schedule: Schedule | None = None
    below = template.schedule if template is not None else None
    schedule_text = read(SCHEDULE_FILE, YAML_MAX_BYTES, missing=needed(SCHEDULE_FILE, below))
    if schedule_text is not None:
        if template is not None and below is not None:
            schedule, found = known.schedule_over(name, schedule_text, template)
        else:
            schedule, found = parse_schedule(name, schedule_text)
        problems.extend(found)
    elif template is not None and below is not None:
        schedule, found = known.schedule_of(name, template)
        problems.extend(found)

    prompt_file, given = PROMPT_FILE, template.prompt if template is not None else None
    prompt = read(PROMPT_FILE, PROMPT_MAX_BYTES, missing=needed(PROMPT_FILE, given))
    if prompt is None and given is not None and not os.path.lexists(folder / PROMPT_FILE):
        prompt, prompt_file = given
    if prompt is not None and not prompt.strip():
        message = "prompt.txt is empty; expected the prompt text"
        problems.append(TaskProblem(name, prompt_file, None, message))
        prompt = None

    problems.extend(config_problems)
    config = TaskConfig()
    if mapping is not None:
        under = defaults
        if template is not None:
            under = known.defaults_for(template, defaults)
        config, found = read_config(mapping, report, folder=folder, defaults=under)
        problems.extend(relocated_templates(found))
    else:
        problems.extend(report.sorted())
    if template is not None:
        problems.extend(relocated_templates(template.problems, name))

    task = Task(
        name=name,
        path=folder,
        schedule=schedule,
        config=config,
        prompt=prompt,
        problems=tuple(problems),
    )
    return task, base.chain if base is not None else ()


def read_tasks(
    tasks_dir: Path,
    names: Sequence[str],
    defaults: Defaults | None = None,
    templates: Templates | None = None,
) -> list[tuple[Task, tuple[str, ...]]]:
    """Every named task as the engine reads it (:func:`read_task`), with what is wrong with its
    ``after:`` among its problems (an unknown task, a cycle: that needs every task), and the
    templates each extends. For ``check`` and the status commands."""
    read = {name: read_task(tasks_dir / name, defaults, templates) for name in names}
    chains = dependency_problems({name: task for name, (task, _) in read.items()})
    return [
        (dataclasses.replace(task, problems=task.problems + chains[name]), chain)
        if name in chains
        else (task, chain)
        for name, (task, chain) in read.items()
    ]


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
