"""config.yaml keys of ``executor: agent``: workdir, tools, allowed_paths, mcp_servers.

Each ``read_*`` here checks one key's value the way :mod:`~bassi_tui.store.parse_common`'s
helpers do: problems go into the :class:`Report` with the line of the offending value, and
``None`` means "unusable, use the default". ``max_turns`` needs nothing of its own
(``read_int``).

Paths are written as in a shell: ``~`` is expanded and relative ones are taken from the task
folder (:func:`~bassi_tui.store.models.task_path`, which the runner uses too). The rule they all
follow: **the agent never gets write access to task files**. A workdir or allowed path may not be
the task folder or a folder holding it (``.``, ``..``: that would make schedule.yaml and
config.yaml writable, and config.yaml can name a command to run), nor the task's own files
(``results/``, ``last_run.json``...), nor another task's folder or its own files, nor the tasks
dir's ``.templates/`` or ``bassi.yaml``. The task's ``workspace/`` (the default), any other
subfolder of it, and a dot-folder of the tasks dir (``../.shared``, which the store ignores) are
fine.

With no ``folder`` (the task folder) only what the text itself says is checked. With one,
the disk is asked too, and only for keys that are present, so a config without them costs no
system call: symlinks are resolved before the rule above is applied, a workdir must be a folder
that exists or can be created (its nearest existing parent a writable folder), an allowed path
that exists must be a folder (a missing one is fine: it may be mounted later), and an MCP
server's program must exist and be executable (a bare name: found on PATH, the server's ``env``
PATH if it sets one, as the process that starts it will look).

MCP ``env`` and ``headers`` values, arguments and URLs may hold secrets: messages name keys,
headers and argument numbers, and of a URL at most its scheme, never a value.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import get_args
from urllib.parse import urlsplit

from bassi_tui.store.models import (
    CONFIG_FILE,
    PROMPT_FILE,
    RESULTS_DIR,
    SCHEDULE_FILE,
    STATE_FILE,
    McpServer,
    ToolName,
    task_path,
)
from bassi_tui.store.parse_common import Field, Report, close_match, fields, given
from bassi_tui.store.yamlio import YMap, YNode, YScalar, YSeq, kind

__all__ = [
    "AGENT_KEYS",
    "MCP_KEYS",
    "TOOL_NAMES",
    "read_allowed_paths",
    "read_mcp_servers",
    "read_tools",
    "read_workdir",
]

AGENT_KEYS = ("workdir", "tools", "allowed_paths", "max_turns", "mcp_servers")
MCP_KEYS = ("command", "env", "url", "headers")
TOOL_NAMES: tuple[ToolName, ...] = get_args(ToolName)

# What a task folder holds that the agent must not write (case-insensitively: `Results` is
# results/ on macOS), and what a tasks dir holds besides task folders.
_OWN_FILES = tuple(
    name.casefold() for name in (SCHEDULE_FILE, PROMPT_FILE, CONFIG_FILE, STATE_FILE, RESULTS_DIR)
)
_TASKS_DIR_FILES = (".templates", "bassi.yaml")
_OWN_FILES_NOTE = (
    "the agent must never write task files (schedule.yaml, config.yaml, results/); "
    "use a folder of its own, e.g. workspace"
)

_SERVER_NAME = re.compile(r"[A-Za-z0-9_-]+")
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def read_tools(f: Field, report: Report) -> tuple[ToolName, ...] | None:
    """``tools:``, a list of known tool names (any case); ``[]`` offers none."""
    known = ", ".join(TOOL_NAMES)
    if not isinstance(f.node, YSeq):
        report.add(
            f.node.line,
            f"tools: expected a list of tool names, e.g. [read, grep]; got {kind(f.node)}",
        )
        return None
    tools: list[ToolName] = []
    lines: dict[str, int] = {}
    bad = False
    for item in f.node.items:
        if not isinstance(item, YScalar) or item.is_null or not item.raw.strip():
            report.add(item.line, f"tools: expected a tool name ({known}), got {kind(item)}")
            bad = True
            continue
        word = item.raw.strip().lower()
        tool = next((name for name in TOOL_NAMES if name == word), None)
        if tool is None:
            close = close_match(word, TOOL_NAMES)
            hint = f" (did you mean '{close}'?)" if close else ""
            report.add(item.line, f"tools: unknown tool {_quote(item.raw)}{hint}; known: {known}")
            bad = True
        elif tool in lines:
            report.add(item.line, f"tools: '{tool}' is listed twice (first on line {lines[tool]})")
            bad = True
        else:
            lines[tool] = item.line
            tools.append(tool)
    return None if bad else tuple(tools)


def read_workdir(f: Field, report: Report, folder: Path | None) -> str | None:
    """``workdir:``, a folder the agent may own: never task files; creatable when on disk."""
    text = _path_text(f.node, report, "workdir")
    if text is None:
        return None
    problem = _clash(text, folder) or (
        _uncreatable(text, folder) if folder is not None or _abs(text) else None
    )
    if problem is not None:
        report.add(f.node.line, f"workdir: {problem}")
        return None
    return text


def read_allowed_paths(f: Field, report: Report, folder: Path | None) -> tuple[str, ...] | None:
    """``allowed_paths:``, a list of folders, each held to the workdir's rule.

    Unlike the workdir, an allowed path may be missing (it may be mounted later, and a tasks dir
    checked in CI lacks it); only one that exists as a file is refused.
    """
    if not isinstance(f.node, YSeq):
        report.add(
            f.node.line,
            f"allowed_paths: expected a list of folders, e.g. [~/data]; got {kind(f.node)}",
        )
        return None
    paths: list[str] = []
    for item in f.node.items:
        text = _path_text(item, report, "allowed_paths")
        if text is None:
            continue
        problem = _clash(text, folder)
        if problem is None and (folder is not None or _abs(text)):
            problem = _not_a_folder(text, folder)
        if problem is not None:
            report.add(item.line, f"allowed_paths: {problem}")
        else:
            paths.append(text)
    return tuple(paths) if len(paths) == len(f.node.items) else None


def read_mcp_servers(f: Field, report: Report, folder: Path | None) -> tuple[McpServer, ...] | None:
    """``mcp_servers:``, a mapping of server name to ``{command, env}`` or ``{url, headers}``."""
    if not isinstance(f.node, YMap):
        report.add(
            f.node.line,
            "mcp_servers: expected a mapping of server name to {command: [argv]} "
            f"or {{url: https://...}}, got {kind(f.node)}",
        )
        return None
    servers: list[McpServer] = []
    lines: dict[str, int] = {}
    bad = False
    for key, value in f.node.entries:
        name = key.raw
        if name in lines:
            report.add(
                key.line, f"mcp_servers: duplicate server {name!r} (first on line {lines[name]})"
            )
            bad = True
            continue
        lines[name] = key.line
        if not _SERVER_NAME.fullmatch(name):
            report.add(
                key.line,
                f"mcp_servers: {_quote(name)} is not a valid server name; "
                "expected letters, digits, '_' and '-'",
            )
            bad = True
            continue
        server = _server(name, key.line, value, report, folder)
        if server is None:
            bad = True
        else:
            servers.append(server)
    return None if bad else tuple(servers)


def _server(
    name: str, line: int, node: YNode, report: Report, folder: Path | None
) -> McpServer | None:
    label = f"mcp_servers.{name}"
    if not isinstance(node, YMap):
        report.add(
            node.line if not _null(node) else line,
            f"{label}: expected a mapping with command: [argv] (a local server) "
            f"or url: https://... (a remote one), got {kind(node)}",
        )
        return None
    problems = len(report.problems)
    elsewhere = {  # keys of other tools' MCP configs (Claude Desktop's `args`, `type`)
        "args": f"{label}.args: not a key here; put the arguments in the command list, "
        "e.g. command: [npx, -y, some-server]",
        "type": f"{label}.type: not needed; a server with command is started (stdio), "
        "one with url is called over HTTP",
    }
    got = fields(node, MCP_KEYS, report, prefix=f"{label}.", elsewhere=elsewhere)
    command_f, url_f = given(got, "command"), given(got, "url")
    if command_f is not None and url_f is not None:
        report.add(
            url_f.line,
            f"{label}: has both command and url; expected one: command (a local server) "
            "or url (a remote one)",
        )
    elif (
        command_f is None
        and url_f is None
        and not {f"{label}.command", f"{label}.url"} & report.suggested
    ):
        # (`comand:` already got its "did you mean 'command'?": no second problem for it.)
        report.add(
            line,
            f"{label}: expected command: [argv] (a local server) or url: https://... "
            "(a remote one)",
        )
    env_f, headers_f = given(got, "env"), given(got, "headers")
    if url_f is not None and env_f is not None:
        report.add(env_f.line, f"{label}.env: env is for command servers; a url server has headers")
    if command_f is not None and headers_f is not None:
        report.add(
            headers_f.line,
            f"{label}.headers: headers are for url servers; a command server has env",
        )
    env = _pairs(env_f, report, f"{label}.env", _env_name, "a valid variable name")
    headers = _pairs(headers_f, report, f"{label}.headers", _HEADER_NAME.fullmatch, "a header name")
    command = _command(command_f, report, f"{label}.command") if command_f else ()
    url = _url(url_f, report, f"{label}.url") if url_f else None
    if len(report.problems) > problems or env is None or headers is None or command is None:
        return None
    server = McpServer(name, command, env, url, headers)
    if command and (folder is not None or _abs(command[0]) or "/" not in command[0]):
        assert command_f is not None and isinstance(command_f.node, YSeq)
        problem = _unrunnable(server, folder)
        if problem is not None:
            report.add(command_f.node.items[0].line, f"{label}.command: {problem}")
            return None
    return server


def _command(f: Field, report: Report, label: str) -> tuple[str, ...] | None:
    example = "e.g. [npx, -y, some-server]"
    if not isinstance(f.node, YSeq) or not f.node.items:
        got = "an empty list" if isinstance(f.node, YSeq) else kind(f.node)
        report.add(f.node.line, f"{label}: expected a list (argv), {example}; got {got}")
        return None
    argv: list[str] = []
    for number, item in enumerate(f.node.items, start=1):
        if isinstance(item, YScalar) and not item.is_null and item.raw:
            argv.append(item.raw)
        else:  # arguments may be secrets: which one, not what it is
            report.add(
                item.line,
                f"{label}: argument {number} is {kind(item)}; expected a non-empty string",
            )
    return tuple(argv) if len(argv) == len(f.node.items) else None


def _url(f: Field, report: Report, label: str) -> str | None:
    node = f.node
    expected = "expected an http:// or https:// URL"
    if not isinstance(node, YScalar) or not isinstance(node.value, str):
        report.add(node.line, f"{label}: {expected}, got {kind(node)}")
        return None
    text = node.value.strip()
    # The URL may carry a token: say what is wrong with it, never what it is.
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # raises ValueError for a bad port
    except ValueError:
        report.add(node.line, f"{label}: not a valid URL; {expected}")
        return None
    if parts.scheme.lower() not in ("http", "https"):
        got = f"a URL starting {parts.scheme + ':'!r}" if parts.scheme else "no scheme"
        report.add(node.line, f"{label}: {expected}, got {got}")
        return None
    if not parts.hostname:
        report.add(node.line, f"{label}: the URL has no host; {expected}")
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        report.add(node.line, f"{label}: the URL contains spaces or control characters")
        return None
    return text


def _env_name(name: str) -> bool:
    # What the OS refuses in execve, as for `environment:`.
    return bool(name) and "=" not in name and "\0" not in name


def _pairs(
    f: Field | None, report: Report, label: str, valid: Callable[[str], object], what: str
) -> dict[str, str] | None:
    """A NAME: value mapping as strings (source text); messages never contain a value."""
    if f is None:
        return {}
    if not isinstance(f.node, YMap):
        report.add(f.node.line, f"{label}: expected a mapping of NAME: value, got {kind(f.node)}")
        return None
    pairs: dict[str, str] = {}
    lines: dict[str, int] = {}
    bad = False
    for key, value in f.node.entries:
        name = key.raw
        if name in lines:
            report.add(key.line, f"{label}: duplicate {name!r} (first on line {lines[name]})")
            bad = True
            continue
        lines[name] = key.line
        if not valid(name):
            report.add(key.line, f"{label}: {_quote(name)} is not {what}")
            bad = True
        elif not isinstance(value, YScalar):
            report.add(
                value.line,
                f"{label}: {name}: expected a string, number or boolean, got {kind(value)}",
            )
            bad = True
        elif any(c in value.raw for c in "\0\r\n") and label.endswith(".headers"):
            report.add(value.line, f"{label}: {name}: value contains a line break or NUL")
            bad = True
        elif "\0" in value.raw:
            report.add(value.line, f"{label}: {name}: value contains a NUL character")
            bad = True
        else:
            # The source text: `VERSION: 1.10` stays "1.10".
            pairs[name] = "" if value.is_null else value.raw
    return None if bad else pairs


def _path_text(node: YNode, report: Report, label: str) -> str | None:
    """A path as written: any non-empty scalar's source text (a folder may be called 2025)."""
    if not isinstance(node, YScalar) or node.is_null or not node.raw.strip():
        report.add(node.line, f"{label}: expected a folder path, got {kind(node)}")
        return None
    text = node.raw
    if "\0" in text:
        report.add(node.line, f"{label}: the path contains a NUL character")
        return None
    if text.startswith("~") and os.path.expanduser(text).startswith("~"):
        user = text[1:].split("/", 1)[0]
        report.add(node.line, f"{label}: {_quote(text)}: no home folder for user {user!r}")
        return None
    return text


def _abs(text: str) -> bool:
    return os.path.isabs(os.path.expanduser(text))


def _clash(text: str, folder: Path | None) -> str | None:
    """Why ``text`` would give the agent task files, or None.

    Read as written (``..`` taken lexically) and, with ``folder``, also with symlinks resolved.
    """
    expanded = os.path.expanduser(text)
    if folder is None:
        if os.path.isabs(expanded):
            return None  # where it is relative to the task cannot be known without the folder
        return _clash_parts(_parts(os.path.normpath(expanded)), text)
    target = task_path(folder, text)
    lexical = _parts(os.path.relpath(target, folder))  # relpath normalises, `..` lexically
    problem = _clash_parts(lexical, text)
    if problem is None:
        try:
            real = os.path.relpath(target.resolve(), folder.resolve())
        except (OSError, RuntimeError):  # a symlink loop: the disk checks will say
            return None
        problem = _clash_parts(_parts(real), text)
    return problem


def _parts(relative: str) -> tuple[str, ...]:
    return tuple(p for p in relative.split(os.sep) if p not in ("", "."))


def _clash_parts(parts: tuple[str, ...], text: str) -> str | None:
    """The rule of the module docstring, on a path relative to the task folder."""
    shown = _quote(text)
    if not parts:
        return f"{shown} is the task folder itself; {_OWN_FILES_NOTE}"
    if all(p == ".." for p in parts):
        return f"{shown} holds the task folder; {_OWN_FILES_NOTE}"
    if parts[0] != "..":
        if parts[0].casefold() in _OWN_FILES:
            return f"{shown} is the task's own {_own(parts[0])}; {_OWN_FILES_NOTE}"
        return None
    if parts[1] == "..":
        return None  # above the tasks dir, and not holding the task: somewhere else
    sibling, rest = parts[1], parts[2:]
    if sibling.casefold() in _TASKS_DIR_FILES:
        return f"{shown} is the tasks dir's {sibling}; {_OWN_FILES_NOTE}"
    if sibling.startswith("."):
        return None  # the store ignores dot-folders: a place to share between tasks
    if not rest:
        return f"{shown} is the folder of task {sibling!r}; {_OWN_FILES_NOTE}"
    if rest[0].casefold() in _OWN_FILES:
        return f"{shown} is task {sibling!r}'s own {_own(rest[0])}; {_OWN_FILES_NOTE}"
    return None


def _own(name: str) -> str:
    return "results/ folder" if name.casefold() == RESULTS_DIR else name


def _uncreatable(text: str, folder: Path | None) -> str | None:
    """Why the workdir cannot be used or made on disk, or None."""
    target = task_path(folder or Path("/"), text)
    probe = target
    while not os.path.exists(probe) and probe.parent != probe:
        probe = probe.parent
    writable = os.access(probe, os.W_OK | os.X_OK)
    if probe == target:
        if not os.path.isdir(probe):
            return f"{_quote(text)} is a file, not a folder"
        return None if writable else f"{_quote(text)} is a folder that is not writable"
    if not os.path.isdir(probe):
        return f"{_quote(text)} cannot be created: {_quote(str(probe))} is not a folder"
    if not writable:
        return f"{_quote(text)} cannot be created: {_quote(str(probe))} is not writable"
    return None


def _not_a_folder(text: str, folder: Path | None) -> str | None:
    target = task_path(folder or Path("/"), text)
    if os.path.exists(target) and not os.path.isdir(target):
        return f"{_quote(text)} is a file, not a folder"
    return None


def _unrunnable(server: McpServer, folder: Path | None) -> str | None:
    """Why the server's program cannot be started, or None."""
    program = server.command[0]
    if "/" not in program:
        path = server.env.get("PATH")  # None: the PATH of this process, as the server gets
        if shutil.which(program, path=path) is None:
            where = "the PATH set in its env" if path is not None else "PATH"
            return f"{_quote(program)} is not found on {where}; install it or give its full path"
        return None
    target = server.argv(folder or Path("/"))[0]
    if not os.path.exists(target):
        return f"{_quote(program)} does not exist"
    if os.path.isdir(target) or not os.access(target, os.X_OK):
        return f"{_quote(program)} is not an executable file (chmod +x?)"
    return None


def _null(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.is_null


def _quote(text: str) -> str:
    """A path or name quoted for a message, cut only when absurdly long (paths are long)."""
    return repr(text if len(text) <= 300 else text[:297] + "...")
