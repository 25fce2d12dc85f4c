"""config.yaml keys of `executor: agent`: workdir, tools, allowed_paths, max_turns, mcp_servers.

Real task folders in tmp_path, read by the store's own loader (load_task). Checks that need the
task folder on disk (a relative path's target, a relative MCP program) go through parse_config
with ``folder=``, as load_task will once it passes the folder.
"""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bassi_tui.store.models import DEFAULT_EXECUTOR, McpServer, Task, TaskConfig
from bassi_tui.store.parse import load_task, parse_config

SECRET = "sk-SECRET-7f3a"


def make_task(tmp_path: Path, config: str | None, name: str = "t") -> Path:
    """tmp_path/tasks/<name>/ with a daily schedule, a prompt and ``config`` as config.yaml."""
    folder = tmp_path / "tasks" / name
    folder.mkdir(parents=True)
    (folder / "schedule.yaml").write_text("type: daily\ntime: '09:00'\n", encoding="utf-8")
    (folder / "prompt.txt").write_text("Hello\n", encoding="utf-8")
    if config is not None:
        (folder / "config.yaml").write_text(config, encoding="utf-8")
    return folder


def load(tmp_path: Path, config: str | None) -> Task:
    return load_task(make_task(tmp_path, config))


def ok(tmp_path: Path, config: str) -> TaskConfig:
    task = load(tmp_path, config)
    assert task.problems == (), task.problems
    return task.config


def parse_at(folder: Path) -> tuple[TaskConfig, list[tuple[int | None, str]]]:
    """The folder's config.yaml, parsed knowing the folder (the on-disk checks on)."""
    text = (folder / "config.yaml").read_text(encoding="utf-8")
    config, problems = parse_config(folder.name, text, folder=folder)
    assert all(p.file == "config.yaml" for p in problems)
    return config, [(p.line, p.message) for p in problems]


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


# --- defaults and valid values ------------------------------------------------------------


def test_defaults_without_config(tmp_path: Path) -> None:
    config = load(tmp_path, None).config
    assert config.executor == DEFAULT_EXECUTOR == "agent"
    assert config.workdir == "workspace"
    assert config.tools == ("read", "write", "edit", "glob", "grep")
    assert (config.allowed_paths, config.max_turns, config.mcp_servers) == ((), 20, ())
    folder = tmp_path / "tasks" / "t"
    assert config.workdir_path(folder) == folder / "workspace"
    assert config.allowed_path_list(folder) == ()


def test_executor_agent_and_empty_keys_mean_defaults(tmp_path: Path) -> None:
    config = ok(
        tmp_path, "executor: agent\nworkdir:\ntools:\nallowed_paths:\nmax_turns:\nmcp_servers:\n"
    )
    assert config == TaskConfig(executor="agent")


def test_every_agent_key_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    server = executable(tmp_path / "bin" / "fs-server")
    config = ok(
        tmp_path,
        "executor: agent\n"
        "workdir: out/agent\n"
        "tools: [Read, grep, bash]\n"
        "allowed_paths:\n"
        "  - ~/notes\n"
        f"  - {tmp_path / 'shared'}\n"
        "  - ../.common\n"
        "max_turns: 5\n"
        "mcp_servers:\n"
        "  files:\n"
        f"    command: [{server}, --root, 2025]\n"
        "    env: {LEVEL: 1.10, DEBUG: yes, EMPTY: }\n"
        "  search:\n"
        "    url: https://mcp.example.com/mcp\n"
        "    headers:\n"
        "      Authorization: Bearer abc\n",
    )
    folder = tmp_path / "tasks" / "t"
    assert config.workdir == "out/agent"
    assert config.workdir_path(folder) == folder / "out" / "agent"
    assert config.tools == ("read", "grep", "bash")
    assert config.allowed_paths == ("~/notes", str(tmp_path / "shared"), "../.common")
    assert config.allowed_path_list(folder) == (
        home / "notes",
        tmp_path / "shared",
        folder / ".." / ".common",
    )
    assert config.max_turns == 5
    assert config.mcp_servers == (
        McpServer(
            "files",
            command=(str(server), "--root", "2025"),
            env={"LEVEL": "1.10", "DEBUG": "yes", "EMPTY": ""},
        ),
        McpServer(
            "search",
            url="https://mcp.example.com/mcp",
            headers={"Authorization": "Bearer abc"},
        ),
    )
    assert [s.transport for s in config.mcp_servers] == ["stdio", "http"]


def test_empty_tools_offers_none(tmp_path: Path) -> None:
    assert ok(tmp_path, "tools: []\n").tools == ()


def test_agent_keys_are_accepted_silently_under_any_executor(tmp_path: Path) -> None:
    config = ok(tmp_path, "executor: echo\nworkdir: scratch\ntools: [bash]\nmax_turns: 3\n")
    assert (config.executor, config.workdir, config.tools, config.max_turns) == (
        "echo",
        "scratch",
        ("bash",),
        3,
    )


def test_absolute_and_home_workdirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ok(tmp_path, f"workdir: {tmp_path / 'elsewhere' / 'new'}\n").workdir.endswith("new")
    folder = make_task(tmp_path, "workdir: ~/agent\n", name="home")
    task = load_task(folder)
    assert task.problems == ()
    assert task.config.workdir_path(folder) == tmp_path / "home" / "agent"


def test_a_dot_folder_of_the_tasks_dir_and_another_tasks_workspace_are_fine(
    tmp_path: Path,
) -> None:
    config = ok(tmp_path, "workdir: ../.shared\nallowed_paths: [../other/workspace]\n")
    assert (config.workdir, config.allowed_paths) == ("../.shared", ("../other/workspace",))


def test_a_bare_mcp_program_is_looked_up_on_the_path_its_env_sets(tmp_path: Path) -> None:
    executable(tmp_path / "tools" / "bassi-test-mcp-server")
    config = ok(
        tmp_path,
        "mcp_servers:\n"
        "  mine:\n"
        "    command: [bassi-test-mcp-server]\n"
        f"    env: {{PATH: {tmp_path / 'tools'}}}\n",
    )
    assert config.mcp_servers[0].command == ("bassi-test-mcp-server",)


def test_a_relative_mcp_program_is_taken_from_the_task_folder(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "mcp_servers:\n  local:\n    command: [./bin/server, -v]\n")
    executable(folder / "bin" / "server")
    config, problems = parse_at(folder)
    assert problems == []
    assert config.mcp_servers[0].argv(folder) == (str(folder / "bin" / "server"), "-v")


# --- errors, each at its line -------------------------------------------------------------

NOTE = (
    "the agent must never write task files (schedule.yaml, config.yaml, results/); "
    "use a folder of its own, e.g. workspace"
)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        # tools
        (
            "timeout: 5\ntools: [read, bsh]\n",
            2,
            "tools: unknown tool 'bsh' (did you mean 'bash'?); "
            "known: read, write, edit, glob, grep, bash",
        ),
        ("tools:\n  - read\n  - ls\n", 3, "tools: unknown tool 'ls'; known: read, write"),
        ("tools: read\n", 1, "tools: expected a list of tool names, e.g. [read, grep]; got text"),
        ("tools:\n  - read\n  - [grep]\n", 3, "tools: expected a tool name (read, write, edit"),
        ("tools:\n  - read\n  - READ\n", 3, "tools: 'read' is listed twice (first on line 2)"),
        # max_turns
        ("max_turns: 0\n", 1, "max_turns: expected a whole number >= 1, got '0'"),
        ("\nmax_turns: -3\n", 2, "max_turns: expected a whole number >= 1, got '-3'"),
        ("max_turns: 2.5\n", 1, "max_turns: expected a whole number >= 1, got '2.5'"),
        ("max_turns: many\n", 1, "max_turns: expected a whole number >= 1, got 'many'"),
        ("max_turns: true\n", 1, "max_turns: expected a whole number >= 1, got 'true'"),
        # workdir: never the task's files
        ("timeout: 5\nworkdir: .\n", 2, f"workdir: '.' is the task folder itself; {NOTE}"),
        ("workdir: ./\n", 1, "workdir: './' is the task folder itself"),
        ("workdir: sub/..\n", 1, "workdir: 'sub/..' is the task folder itself"),
        ("workdir: ..\n", 1, f"workdir: '..' holds the task folder; {NOTE}"),
        ("workdir: ../..\n", 1, "workdir: '../..' holds the task folder"),
        ("workdir: results\n", 1, "workdir: 'results' is the task's own results/ folder"),
        ("workdir: results/agent\n", 1, "workdir: 'results/agent' is the task's own results/"),
        ("workdir: Results\n", 1, "workdir: 'Results' is the task's own results/ folder"),
        ("workdir: config.yaml\n", 1, "workdir: 'config.yaml' is the task's own config.yaml"),
        ("workdir: last_run.json\n", 1, "is the task's own last_run.json"),
        ("workdir: ../other\n", 1, f"workdir: '../other' is the folder of task 'other'; {NOTE}"),
        ("workdir: ../other/results\n", 1, "is task 'other''s own results/ folder"),
        ("workdir: ../.templates/base\n", 1, "is the tasks dir's .templates"),
        ("workdir: ../bassi.yaml\n", 1, "is the tasks dir's bassi.yaml"),
        ("workdir: ~no-such-user-xyz/w\n", 1, "no home folder for user 'no-such-user-xyz'"),
        ("workdir: ''\n", 1, "workdir: expected a folder path, got text"),
        ("workdir: [a]\n", 1, "workdir: expected a folder path, got a list"),
        # allowed_paths: the same rule, item by item
        ("allowed_paths: ~/data\n", 1, "allowed_paths: expected a list of folders"),
        (
            "allowed_paths:\n  - /srv/data\n  - .\n",
            3,
            f"allowed_paths: '.' is the task folder itself; {NOTE}",
        ),
        ("allowed_paths: [..]\n", 1, "allowed_paths: '..' holds the task folder"),
        ("allowed_paths: [results]\n", 1, "allowed_paths: 'results' is the task's own results/"),
        ("allowed_paths:\n  -\n", 2, "allowed_paths: expected a folder path, got nothing"),
        # mcp_servers
        ("mcp_servers: [fs]\n", 1, "mcp_servers: expected a mapping of server name to"),
        (
            "mcp_servers:\n  fs:\n    command: [sh]\n    url: https://x.example\n",
            4,
            "mcp_servers.fs: has both command and url; expected one",
        ),
        (
            "mcp_servers:\n  fs:\n    env: {A: b}\n",
            2,
            "mcp_servers.fs: expected command: [argv] (a local server) or url: https://...",
        ),
        ("mcp_servers:\n  fs:\n", 2, "mcp_servers.fs: expected a mapping with command: [argv]"),
        ("mcp_servers:\n  fs: npx\n", 2, "mcp_servers.fs: expected a mapping with command"),
        (
            "mcp_servers:\n  my server:\n    url: https://x.example\n",
            2,
            "mcp_servers: 'my server' is not a valid server name",
        ),
        (
            "mcp_servers:\n  a:\n    url: https://x.example\n  a:\n    url: https://y.example\n",
            4,
            "mcp_servers: duplicate server 'a' (first on line 2)",
        ),
        (
            "mcp_servers:\n  a:\n    comand: [sh]\n",
            3,
            "unknown key 'mcp_servers.a.comand' (did you mean 'command'?)",
        ),
        (
            "mcp_servers:\n  a:\n    command: [npx]\n    args: [-y, server]\n",
            4,
            "mcp_servers.a.args: not a key here; put the arguments in the command list",
        ),
        # stdio servers
        ("mcp_servers:\n  a:\n    command: npx srv\n", 3, "mcp_servers.a.command: expected a list"),
        ("mcp_servers:\n  a:\n    command: []\n", 3, "got an empty list"),
        (
            "mcp_servers:\n  a:\n    command:\n      - sh\n      - [x]\n",
            5,
            "mcp_servers.a.command: argument 2 is a list; expected a non-empty string",
        ),
        (
            "mcp_servers:\n  a:\n    command:\n      - bassi-no-such-program-xyz\n",
            4,
            "mcp_servers.a.command: 'bassi-no-such-program-xyz' is not found on PATH; "
            "install it or give its full path",
        ),
        (
            "mcp_servers:\n  a:\n    command: [sh]\n    env: {PATH: /nonexistent-bin}\n",
            3,
            "'sh' is not found on the PATH set in its env",
        ),
        (
            "mcp_servers:\n  a:\n    command: [/nonexistent/server, -v]\n",
            3,
            "mcp_servers.a.command: '/nonexistent/server' does not exist",
        ),
        ("mcp_servers:\n  a:\n    command: [/]\n", 3, "'/' is not an executable file"),
        ("mcp_servers:\n  a:\n    command: [sh]\n    env: [A=1]\n", 4, "env: expected a mapping"),
        (
            "mcp_servers:\n  a:\n    command: [sh]\n    env:\n      A=B: x\n",
            5,
            "mcp_servers.a.env: 'A=B' is not a valid variable name",
        ),
        (
            "mcp_servers:\n  a:\n    command: [sh]\n    env:\n      A:\n        - x\n",
            6,
            "mcp_servers.a.env: A: expected a string, number or boolean, got a list",
        ),
        (
            "mcp_servers:\n  a:\n    command: [sh]\n    headers: {X: y}\n",
            4,
            "mcp_servers.a.headers: headers are for url servers; a command server has env",
        ),
        # remote servers
        (
            "mcp_servers:\n  a:\n    url: ftp://x.example/mcp\n",
            3,
            "mcp_servers.a.url: expected an http:// or https:// URL, got a URL starting 'ftp:'",
        ),
        ("mcp_servers:\n  a:\n    url: x.example/mcp\n", 3, "URL, got no scheme"),
        ("mcp_servers:\n  a:\n    url: https:///mcp\n", 3, "the URL has no host"),
        ("mcp_servers:\n  a:\n    url: 'https://x.example:99999/'\n", 3, "not a valid URL"),
        ("mcp_servers:\n  a:\n    url: 'https://x.example/a b'\n", 3, "spaces or control"),
        ("mcp_servers:\n  a:\n    url: [https://x]\n", 3, "url: expected an http:// or https://"),
        (
            "mcp_servers:\n  a:\n    url: https://x.example\n    env: {A: b}\n",
            4,
            "mcp_servers.a.env: env is for command servers; a url server has headers",
        ),
        (
            "mcp_servers:\n  a:\n    url: https://x.example\n    headers:\n      Bad Name: v\n",
            5,
            "mcp_servers.a.headers: 'Bad Name' is not a header name",
        ),
        (
            "mcp_servers:\n  a:\n    url: https://x.example\n    headers:\n"
            '      X: "a\\r\\nB: c"\n',
            5,
            "mcp_servers.a.headers: X: value contains a line break or NUL",
        ),
        (
            "mcp_servers:\n  a:\n    url: https://x.example\n    headers: {X: {y: z}}\n",
            4,
            "mcp_servers.a.headers: X: expected a string, number or boolean, got a mapping",
        ),
    ],
)
def test_errors_name_config_yaml_the_line_and_what_was_expected(
    tmp_path: Path, text: str, line: int, expected: str
) -> None:
    task = load(tmp_path, text)
    assert len(task.problems) == 1, task.problems
    problem = task.problems[0]
    assert (problem.task, problem.file, problem.line) == ("t", "config.yaml", line)
    assert expected in problem.message
    assert not task.ok


def test_a_bad_value_gives_its_default(tmp_path: Path) -> None:
    config = load(tmp_path, "workdir: .\ntools: [nope]\nmax_turns: 0\n").config
    assert (config.workdir, config.tools, config.max_turns) == (
        "workspace",
        TaskConfig().tools,
        20,
    )


def test_the_executor_message_lists_agent(tmp_path: Path) -> None:
    (problem,) = load(tmp_path, "executor: agnet\n").problems
    assert "'agnet' is not one of anthropic, command, echo, agent (did you mean 'agent'?)" in (
        problem.message
    )


def test_an_absolute_workdir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    task = load(tmp_path, f"timeout: 5\nworkdir: {blocker / 'sub' / 'dir'}\n")
    assert [(p.line, p.message) for p in task.problems] == [
        (2, f"workdir: '{blocker / 'sub' / 'dir'}' cannot be created: '{blocker}' is not a folder")
    ]


# --- errors that need the task folder on disk --------------------------------------------


def test_a_relative_workdir_through_a_file_cannot_be_created(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "timeout: 5\nworkdir: data/out\n")
    (folder / "data").write_text("x", encoding="utf-8")
    _, problems = parse_at(folder)
    assert problems == [
        (2, f"workdir: 'data/out' cannot be created: '{folder / 'data'}' is not a folder")
    ]


def test_a_workdir_that_is_a_file(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "workdir: notes.md\n")
    (folder / "notes.md").write_text("x", encoding="utf-8")
    assert parse_at(folder)[1] == [(1, "workdir: 'notes.md' is a file, not a folder")]


def _deny_writes_to(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """As root os.access says yes to everything: make it answer as for anyone else."""
    if os.geteuid() != 0:
        return
    real = os.access

    def access(path: str | os.PathLike[str], mode: int, **kwargs: object) -> bool:
        if Path(path) == locked and mode & os.W_OK:
            return False
        return real(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)


@pytest.mark.parametrize(
    ("workdir", "expected"),
    [
        ("locked/new", "workdir: 'locked/new' cannot be created: '{locked}' is not writable"),
        ("locked", "workdir: 'locked' is a folder that is not writable"),
    ],
)
def test_a_workdir_in_a_folder_that_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workdir: str, expected: str
) -> None:
    folder = make_task(tmp_path, f"\nworkdir: {workdir}\n")
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    _deny_writes_to(monkeypatch, locked)
    try:
        assert parse_at(folder)[1] == [(2, expected.format(locked=locked))]
    finally:
        locked.chmod(0o755)


def test_an_absolute_workdir_naming_the_task_folder(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "")
    (folder / "config.yaml").write_text(f"workdir: {folder}\n", encoding="utf-8")
    assert parse_at(folder)[1] == [(1, f"workdir: '{folder}' is the task folder itself; {NOTE}")]


def test_a_workdir_symlinked_to_the_task_folder_is_refused(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "workdir: sneaky\nallowed_paths: [link/results]\n")
    (folder / "sneaky").symlink_to("..")
    (folder / "link").symlink_to(".")
    assert parse_at(folder)[1] == [
        (1, f"workdir: 'sneaky' holds the task folder; {NOTE}"),
        (2, "allowed_paths: 'link/results' is the task's own results/ folder; " + NOTE),
    ]


def test_results_symlinked_elsewhere_is_still_the_tasks_own(tmp_path: Path) -> None:
    # Read as written too: a results/ moved to a bigger disk is still the task's results.
    folder = make_task(tmp_path, "workdir: results/agent\n")
    (tmp_path / "big-disk").mkdir()
    (folder / "results").symlink_to(tmp_path / "big-disk")
    assert parse_at(folder)[1] == [
        (1, f"workdir: 'results/agent' is the task's own results/ folder; {NOTE}")
    ]


def test_an_allowed_path_that_is_a_file(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "allowed_paths:\n  - missing-is-fine\n  - notes.md\n")
    (folder / "notes.md").write_text("x", encoding="utf-8")
    assert parse_at(folder)[1] == [(3, "allowed_paths: 'notes.md' is a file, not a folder")]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (False, "mcp_servers.a.command: './srv.py' does not exist"),
        (True, "mcp_servers.a.command: './srv.py' is not an executable file (chmod +x?)"),
    ],
)
def test_a_relative_mcp_program_must_exist_and_be_executable(
    tmp_path: Path, make: bool, expected: str
) -> None:
    folder = make_task(tmp_path, "mcp_servers:\n  a:\n    command:\n      - ./srv.py\n")
    if make:
        (folder / "srv.py").write_text("print(1)\n", encoding="utf-8")
        (folder / "srv.py").chmod(0o644)  # no x bit: not executable, even for root
    assert parse_at(folder)[1] == [(4, expected)]


def test_without_the_folder_relative_paths_are_checked_as_written_only(tmp_path: Path) -> None:
    text = "workdir: data/out\nmcp_servers:\n  a:\n    command: [./srv.py]\n"
    config, problems = parse_config("t", text)
    assert problems == []
    assert config.mcp_servers[0].command == ("./srv.py",)


# --- secrets ------------------------------------------------------------------------------


def test_secrets_never_show_in_repr(tmp_path: Path) -> None:
    task = load(
        tmp_path,
        "executor: agent\n"
        "environment:\n"
        f"  TOKEN: {SECRET}\n"
        "mcp_servers:\n"
        "  local:\n"
        f"    command: [sh, --token, {SECRET}]\n"
        f"    env: {{API_KEY: {SECRET}}}\n"
        "  remote:\n"
        f"    url: https://user:{SECRET}@mcp.example.com/{SECRET}/mcp?key={SECRET}\n"
        f"    headers: {{Authorization: Bearer {SECRET}}}\n",
    )
    assert task.ok, task.problems
    servers = task.config.mcp_servers
    assert servers[0].env == {"API_KEY": SECRET}  # kept, only hidden
    for shown in (repr(task), repr(task.config), repr(servers), str(servers[1])):
        assert SECRET not in shown
    assert (
        repr(servers[0]) == "McpServer(name='local', program='sh', args=2, env={'API_KEY': '***'})"
    )
    assert repr(servers[1]) == (
        "McpServer(name='remote', url='https://mcp.example.com/...', "
        "headers={'Authorization': '***'})"
    )
    assert "mcp_servers=(McpServer(name='local'" in repr(task.config)


@pytest.mark.parametrize(
    "text",
    [
        f"mcp_servers:\n  a:\n    command: [sh]\n    env:\n      K: [{SECRET}]\n",
        f"mcp_servers:\n  a:\n    command: [sh]\n    env:\n      K: {{x: {SECRET}}}\n",
        f"mcp_servers:\n  a:\n    command: [sh]\n    env:\n      K: {SECRET}\n      K: {SECRET}\n",
        f'mcp_servers:\n  a:\n    command: [sh]\n    env:\n      K: "{SECRET}\\0"\n',
        f"mcp_servers:\n  a:\n    command: [sh]\n    env:\n      K: '{SECRET}\n",
        f"mcp_servers:\n  a:\n    command: [sh]\n    env: {{K: {SECRET}}}\n    url: https://x.y\n",
        f"mcp_servers:\n  a:\n    command: [sh, [{SECRET}]]\n",
        f"mcp_servers:\n  a:\n    command: [sh, {SECRET}]\n    headers: {{K: {SECRET}}}\n",
        f"mcp_servers:\n  a:\n    url: https://x.y\n    headers:\n      K: [{SECRET}]\n",
        f'mcp_servers:\n  a:\n    url: https://x.y\n    headers:\n      K: "{SECRET}\\n"\n',
        f"mcp_servers:\n  a:\n    url: ftp://x.y/{SECRET}\n",
        f"mcp_servers:\n  a:\n    url: {SECRET}\n",
        f"mcp_servers:\n  a:\n    url: 'https://x.y/{SECRET} x'\n",
        f"mcp_servers:\n  a:\n    url: 'https://x.y:{SECRET}/'\n",
        f"mcp_servers:\n  a:\n    url: 'https://[{SECRET}/'\n",
        f"mcp_servers:\n  a:\n    url: https:///{SECRET}\n",
    ],
)
def test_secrets_never_show_in_problems(tmp_path: Path, text: str) -> None:
    task = load(tmp_path, text)
    assert task.problems, "each case has a problem"
    for problem in task.problems:
        assert SECRET not in str(problem)
    assert SECRET not in repr(task)


# --- processes ----------------------------------------------------------------------------


def test_a_task_with_mcp_servers_survives_pickling(tmp_path: Path) -> None:
    task = load(
        tmp_path,
        "executor: agent\n"
        "workdir: out\n"
        "tools: [read, bash]\n"
        "allowed_paths: [/srv/data]\n"
        "max_turns: 7\n"
        "mcp_servers:\n"
        "  local: {command: [sh, -c, 'exit 0'], env: {A: b}}\n"
        "  remote: {url: 'https://x.example/mcp', headers: {Authorization: Bearer t}}\n",
    )
    assert task.ok, task.problems
    copy = pickle.loads(pickle.dumps(task))
    assert copy == task
    assert copy.config.mcp_servers[1].headers == {"Authorization": "Bearer t"}
    # Pickled as a plain call, as every store model is (start-up unpickles thousands of tasks).
    server = task.config.mcp_servers[0]
    assert server.__reduce__() == (
        McpServer,
        ("local", ("sh", "-c", "exit 0"), {"A": "b"}, None, {}),
    )


def test_check_prints_a_bad_tool_with_its_line_and_fails(tmp_path: Path) -> None:
    make_task(tmp_path, "executor: agent\nmax_turns: 5\ntools: [read, grpe]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bassi_tui", "check", str(tmp_path / "tasks")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert (
        "t/config.yaml:3: tools: unknown tool 'grpe' (did you mean 'grep'?); "
        "known: read, write, edit, glob, grep, bash"
    ) in proc.stdout + proc.stderr
