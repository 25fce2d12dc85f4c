"""Shell completion (bassi_tui.completion): the scripts that ``bassi-tui completion SHELL`` prints,
loaded into real shells and asked to complete, over real task folders.

bash is driven as it drives itself on TAB: the script is sourced, COMP_WORDS / COMP_CWORD /
COMP_LINE / COMP_POINT are set, the function that ``complete -p bassi-tui`` names is called,
and COMPREPLY is printed. fish completes non-interactively (``complete -C``). zsh completes only
inside its line editor: its script is checked to parse and to register, and its task-name
function is called with ``compadd`` stubbed. The zsh and fish tests skip when the shell is not
installed.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bassi_tui.cli import DEFAULT_TASKS_DIR, main
from bassi_tui.completion import DEFAULT_TASKS_SUBDIR

SUBCOMMANDS = [
    "check",
    "next",
    "list",
    "stats",
    "run",
    "stop",
    "service",
    "migrate",
    "completion",
    "worker",
]
TASKS = ["alpha", "beta", "my task"]
#: As bash puts them on the line: quoted for it.
BASH_TASKS = ["alpha", "beta", "my\\ task"]

# $1 the script, $2 the line up to the cursor; prints COMPREPLY, one a line. Words are split at
# blanks (bash splits at quotes and COMP_WORDBREAKS too; no test line needs those).
BASH_DRIVER = r"""
source "$1" || exit 90
spec=$(complete -p bassi-tui) || exit 91
fn=${spec##*-F }
fn=${fn%% *}
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
"$fn" bassi-tui "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 92
printf '%s\n' "${COMPREPLY[@]}"
"""


def script_of(shell: str) -> str:
    """What ``bassi-tui completion SHELL`` prints (through main, as the command does)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["completion", shell]) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("completion")
    paths = {}
    for shell in ("bash", "zsh", "fish"):
        paths[shell] = folder / f"bassi-tui.{shell}"
        paths[shell].write_text(script_of(shell), encoding="utf-8")
    return paths


def make_tasks(root: Path, names: list[str]) -> Path:
    """Task folders (a schedule.yaml each), plus two that are no task to offer."""
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "schedule.yaml").write_text("type: daily\ntime: '09:00'\n")
    (root / "notes").mkdir()  # no schedule.yaml: not a task
    (root / "notes" / "prompt.txt").write_text("not a task\n")
    (root / ".hidden").mkdir()  # hidden: ignored, as by the store
    (root / ".hidden" / "schedule.yaml").write_text("type: daily\ntime: '09:00'\n")
    return root


@pytest.fixture
def tasks_dir(tmp_path: Path) -> Path:
    return make_tasks(tmp_path / "tasks", TASKS)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty $HOME: the default tasks dir under it does not exist unless a test makes it."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def shell_env(home: Path, tasks_dir: Path | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    if tasks_dir is not None:
        env["BASSI_TASKS_DIR"] = str(tasks_dir)
    return env


def bash_complete(script: Path, line: str, env: dict[str, str], *, setup: str = "") -> list[str]:
    bash = shutil.which("bash")
    assert bash, "bash is needed to test the bash completion"
    out = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", setup + BASH_DRIVER, "bash", str(script), line],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert out.returncode == 0, f"rc {out.returncode}: {out.stderr}"
    assert out.stderr == "", out.stderr
    return [word for word in out.stdout.split("\n") if word]


# --- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "mark"),
    [
        ("bash", "complete -o bashdefault -F _shtab_bassi_tui bassi-tui"),
        ("zsh", "#compdef bassi-tui"),
        ("fish", "complete -c bassi-tui"),
    ],
)
def test_completion_prints_each_script(shell: str, mark: str) -> None:
    script = script_of(shell)
    assert mark in script
    assert "_shtab_bassi_tui_task_names" in script  # the task names' function, in its preamble


def test_completion_refuses_another_shell(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["completion", "powershell"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_completion_help_says_how_to_load_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["completion", "--help"])
    out = capsys.readouterr().out
    assert 'eval "$(bassi-tui completion bash)"' in out
    assert 'eval "$(bassi-tui completion zsh)"' in out
    assert "bassi-tui completion fish > ~/.config/fish/completions/bassi-tui.fish" in out


def test_the_parser_does_not_load_shtab() -> None:
    # Every command builds the parser: shtab is for printing a script only.
    code = "import sys\nfrom bassi_tui.cli import build_parser\nbuild_parser()\n"
    code += "print('shtab' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_default_dir_is_the_commands() -> None:
    assert Path("~") / DEFAULT_TASKS_SUBDIR == DEFAULT_TASKS_DIR


# --- bash --------------------------------------------------------------------------------------


def test_bash_completes_subcommands(scripts: dict[str, Path], home: Path) -> None:
    env = shell_env(home, None)
    assert bash_complete(scripts["bash"], "bassi-tui ", env) == SUBCOMMANDS
    assert bash_complete(scripts["bash"], "bassi-tui st", env) == ["stats", "stop"]


def test_bash_completes_options_and_choices(scripts: dict[str, Path], home: Path) -> None:
    env = shell_env(home, None)
    bash = scripts["bash"]
    assert bash_complete(bash, "bassi-tui run --", env) == ["--help", "--tasks-dir", "--dry-run"]
    assert bash_complete(bash, "bassi-tui stats --d", env) == ["--days"]
    assert bash_complete(bash, "bassi-tui --he", env) == ["--help", "--headless"]
    assert bash_complete(bash, "bassi-tui service ", env) == ["install", "uninstall", "status"]
    assert bash_complete(bash, "bassi-tui completion ", env) == ["bash", "zsh", "fish"]


@pytest.mark.parametrize("command", ["run", "next", "stats"])
def test_bash_completes_task_names(
    scripts: dict[str, Path], home: Path, tasks_dir: Path, command: str
) -> None:
    env = shell_env(home, tasks_dir)
    assert bash_complete(scripts["bash"], f"bassi-tui {command} ", env) == BASH_TASKS
    assert bash_complete(scripts["bash"], f"bassi-tui {command} b", env) == ["beta"]
    assert bash_complete(scripts["bash"], f"bassi-tui {command} m", env) == ["my\\ task"]
    # After the options too, and one TASK only.
    line = f"bassi-tui {command} --tasks-dir {tasks_dir} "
    assert bash_complete(scripts["bash"], line, env) == BASH_TASKS
    assert "alpha" not in bash_complete(scripts["bash"], f"bassi-tui {command} alpha ", env)


def test_bash_finds_the_tasks_dir_as_the_command_does(
    scripts: dict[str, Path], home: Path, tmp_path: Path
) -> None:
    env_dir = make_tasks(tmp_path / "from-env", ["env-task"])
    line_dir = make_tasks(tmp_path / "from-line", ["line-task"])
    make_tasks(home / DEFAULT_TASKS_SUBDIR, ["default-task"])
    bash = scripts["bash"]
    # --tasks-dir on the line (before or after the subcommand), then $BASSI_TASKS_DIR, then
    # ~/.bassi/tasks-scheduler.
    env = shell_env(home, env_dir)
    assert bash_complete(bash, f"bassi-tui --tasks-dir {line_dir} run ", env) == ["line-task"]
    assert bash_complete(bash, f"bassi-tui next --tasks-dir {line_dir} ", env) == ["line-task"]
    assert bash_complete(bash, "bassi-tui run ", env) == ["env-task"]
    assert bash_complete(bash, "bassi-tui run ", shell_env(home, None)) == ["default-task"]
    # A typed ~ is the home dir; a quoted dir is unquoted.
    line = "bassi-tui --tasks-dir ~/.bassi/tasks-scheduler run "
    assert bash_complete(bash, line, env) == ["default-task"]
    assert bash_complete(bash, f"bassi-tui stats --tasks-dir '{line_dir}' ", env) == ["line-task"]


def test_bash_task_names_are_read_on_each_tab(
    scripts: dict[str, Path], home: Path, tasks_dir: Path
) -> None:
    env = shell_env(home, tasks_dir)
    assert bash_complete(scripts["bash"], "bassi-tui run g", env) == []
    (tasks_dir / "more").mkdir()  # no task: it holds no schedule.yaml
    (tasks_dir / "gamma").mkdir()
    (tasks_dir / "gamma" / "schedule.yaml").write_text("type: daily\ntime: '09:00'\n")
    assert bash_complete(scripts["bash"], "bassi-tui run g", env) == ["gamma"]
    assert bash_complete(scripts["bash"], "bassi-tui run mo", env) == []


def test_bash_task_names_ignore_the_users_glob_options(
    scripts: dict[str, Path], home: Path, tasks_dir: Path
) -> None:
    setup = "shopt -s dotglob failglob nocaseglob extglob\n"
    env = shell_env(home, tasks_dir)
    assert bash_complete(scripts["bash"], "bassi-tui run ", env, setup=setup) == BASH_TASKS
    # No task dir at all: nothing offered, and no failglob error.
    env = shell_env(home, tasks_dir / "missing")
    assert bash_complete(scripts["bash"], "bassi-tui run ", env, setup=setup) == []


# --- zsh ---------------------------------------------------------------------------------------

needs_zsh = pytest.mark.skipif(
    shutil.which("zsh") is None, reason="zsh is not installed: its completion is not checked"
)

# Loads the script as `eval "$(bassi-tui completion zsh)"` after compinit does, then calls the
# task-name function with compadd stubbed to print what it is given ($1 the script, $2 the line).
ZSH_DRIVER = r"""
autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump" || exit 90
eval "$(<$1)" || exit 91
print -r -- "registered: $_comps[bassi-tui]"
compadd() { [[ $1 == -a ]] && print -rl -- "${(@P)2}" }
LBUFFER=$2
_shtab_bassi_tui_task_names
"""


@needs_zsh
def test_zsh_script_parses(scripts: dict[str, Path]) -> None:
    out = subprocess.run(["zsh", "-n", str(scripts["zsh"])], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@needs_zsh
def test_zsh_script_registers_and_lists_task_names(
    scripts: dict[str, Path], home: Path, tasks_dir: Path, tmp_path: Path
) -> None:
    line_dir = make_tasks(tmp_path / "from-line", ["line-task"])
    cases = [
        ("bassi-tui run ", TASKS),
        (f"bassi-tui --tasks-dir {line_dir} stats ", ["line-task"]),
        (f"bassi-tui next --tasks-dir '{line_dir}' ", ["line-task"]),
    ]
    for line, expected in cases:
        out = subprocess.run(
            ["zsh", "-f", "-c", ZSH_DRIVER, "zsh", str(scripts["zsh"]), line],
            capture_output=True,
            text=True,
            env=shell_env(home, tasks_dir),
            timeout=30,
        )
        assert out.returncode == 0, f"rc {out.returncode}: {out.stderr}"
        lines = out.stdout.splitlines()
        assert lines[0] == "registered: _shtab_bassi_tui"
        assert lines[1:] == expected, line


# --- fish --------------------------------------------------------------------------------------

needs_fish = pytest.mark.skipif(
    shutil.which("fish") is None, reason="fish is not installed: its completion is not checked"
)


def fish_complete(script: Path, line: str, env: dict[str, str]) -> list[str]:
    """What fish offers for ``line`` (``complete -C``), without the descriptions."""
    code = f"source {script}; or exit 90\ncomplete -C {line!r}"
    out = subprocess.run(
        ["fish", "--no-config", "-c", code], capture_output=True, text=True, env=env, timeout=30
    )
    assert out.returncode == 0, f"rc {out.returncode}: {out.stderr}"
    return [entry.split("\t")[0] for entry in out.stdout.splitlines()]


@needs_fish
def test_fish_script_parses(scripts: dict[str, Path]) -> None:
    out = subprocess.run(["fish", "-n", str(scripts["fish"])], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@needs_fish
@pytest.mark.parametrize("command", ["run", "next", "stats"])
def test_fish_completes_task_names(
    scripts: dict[str, Path], home: Path, tasks_dir: Path, command: str
) -> None:
    env = shell_env(home, tasks_dir)
    assert fish_complete(scripts["fish"], f"bassi-tui {command} ", env) == TASKS
    assert fish_complete(scripts["fish"], f"bassi-tui {command} b", env) == ["beta"]


@needs_fish
def test_fish_completes_subcommands_options_and_the_tasks_dir_on_the_line(
    scripts: dict[str, Path], home: Path, tasks_dir: Path, tmp_path: Path
) -> None:
    fish = scripts["fish"]
    env = shell_env(home, tasks_dir)
    assert sorted(fish_complete(fish, "bassi-tui ", env)) == sorted(SUBCOMMANDS)
    assert fish_complete(fish, "bassi-tui run --", env) == ["--dry-run", "--help", "--tasks-dir"]
    assert fish_complete(fish, "bassi-tui completion ", env) == ["bash", "zsh", "fish"]
    line_dir = make_tasks(tmp_path / "from-line", ["line-task"])
    line = f"bassi-tui --tasks-dir {line_dir} run "
    assert fish_complete(fish, line, env) == ["line-task"]
    make_tasks(home / DEFAULT_TASKS_SUBDIR, ["default-task"])
    assert fish_complete(fish, "bassi-tui run ", shell_env(home, None)) == ["default-task"]
