"""Shell completion: ``bassi-tui completion bash|zsh|fish`` prints the script for that shell.

    eval "$(bassi-tui completion bash)"     # in ~/.bashrc
    eval "$(bassi-tui completion zsh)"      # in ~/.zshrc, after compinit
    bassi-tui completion fish > ~/.config/fish/completions/bassi-tui.fish

**The library: shtab.** The scripts are generated from :func:`bassi_tui.cli.build_parser` by
`shtab <https://github.com/tqdm/shtab>`_, so every subcommand, option and ``choices=`` completes
with no list kept by hand. shtab over argcomplete: shtab writes a static script once, and the
shell completes by itself; argcomplete starts ``bassi-tui`` (Python, argparse, the package) on
every TAB, about 0.1-0.2 s each, and needs the ``argcomplete`` hook in the entry point.
shtab does bash, zsh and fish from one parser; its ``.complete`` attribute on an argument says
how that argument completes, with a preamble of shell code put in the script. Arguments whose
metavar is ``DIR``, ``PATH`` or ``SRC`` complete as directories or files.

**Task names.** A ``TASK`` argument (of ``next``, ``run`` and ``stats``) carries
:data:`TASK_NAMES` as its ``.complete``: a small function in each shell's preamble lists the
folders of the tasks dir holding a ``schedule.yaml`` (``*/schedule.yaml``, so hidden folders,
``.templates/`` among them, are left out, as the store leaves them out). The tasks dir is found
as the command finds it: ``--tasks-dir`` already typed on the line, else ``$BASSI_TASKS_DIR``,
else ``~/.bassi/tasks-scheduler``. A typed dir is unquoted and its leading ``~`` expanded, never
evaluated (a TAB must not run what is on the line).

**Speed.** The shell lists the names itself, with one glob: no Python start per TAB (which
alone costs more than the glob over thousands of folders), and no cache to go stale when a
task folder is made. The price: a task made only of ``extends:`` (no schedule.yaml of its own,
see the README's *Templates*) is not offered, and a name is not checked to be a valid task.

This module imports neither Textual nor Rich (it is on the domain side of the import-linter
contracts); shtab is imported only when a script is printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Final

SHELLS: Final = ("bash", "zsh", "fish")

#: The default tasks dir, relative to $HOME (``bassi_tui.cli.DEFAULT_TASKS_DIR`` is ``~/`` + it).
DEFAULT_TASKS_SUBDIR: Final = ".bassi/tasks-scheduler"

#: The name of the shell function that lists the task names, the same in every shell.
TASK_NAMES_FUNCTION: Final = "_shtab_bassi_tui_task_names"

USAGE: Final = """\
Print the completion script for SHELL on stdout.

To load it:

  bash:  eval "$(bassi-tui completion bash)"          (add this line to ~/.bashrc)
  zsh:   eval "$(bassi-tui completion zsh)"           (to ~/.zshrc, after compinit)
  fish:  bassi-tui completion fish > ~/.config/fish/completions/bassi-tui.fish

Subcommands, options and their choices complete, and TASK with the names of the task folders
(those holding a schedule.yaml) of the tasks dir: --tasks-dir if typed on the line, else
$BASSI_TASKS_DIR, else ~/.bassi/tasks-scheduler.
"""

# bash: run by shtab's completion function in a subshell as `fn "$typed_word"`, one candidate a
# line; the body is a subshell too, so the shopt changes stay in it. Candidates are quoted as
# the line needs them (printf %q) and matched against the word as typed.
_BASH_PREAMBLE: Final = rf"""
# Task names for TASK: the folders of the tasks dir holding a schedule.yaml (no Python run).
# The dir: --tasks-dir typed on the line, else $BASSI_TASKS_DIR, else ~/{DEFAULT_TASKS_SUBDIR}.
{TASK_NAMES_FUNCTION}() (
  dir=${{BASSI_TASKS_DIR:-$HOME/{DEFAULT_TASKS_SUBDIR}}}
  i=1
  while (( i < ${{#COMP_WORDS[@]}} )); do
    word=${{COMP_WORDS[i]}}
    if [[ $word == --tasks-dir=?* ]]; then
      (( i != COMP_CWORD )) && dir=${{word#--tasks-dir=}}
    elif [[ $word == --tasks-dir ]]; then
      (( i += 1 ))
      [[ ${{COMP_WORDS[i]-}} == = ]] && (( i += 1 ))  # --tasks-dir=DIR, split at the =
      (( i < ${{#COMP_WORDS[@]}} && i != COMP_CWORD )) && dir=${{COMP_WORDS[i]}}
    fi
    (( i += 1 ))
  done
  if [[ $dir == \"*\" || $dir == \'*\' ]]; then
    dir=${{dir:1:${{#dir}}-2}}
  else
    dir=${{dir//\\/}}
  fi
  [[ $dir == "~" || $dir == "~/"* ]] && dir=$HOME${{dir:1}}
  shopt -s nullglob
  shopt -u dotglob failglob nocaseglob
  prefix=
  [[ $1 =~ ^[[:alnum:]_.,:@%+=-]+$ ]] && prefix=$1  # typed as is: glob only what matches it
  for file in "$dir/$prefix"*/schedule.yaml; do
    name=${{file%/schedule.yaml}}
    printf -v name %q "${{name##*/}}"
    [[ $name == "$1"* ]] && printf '%s\n' "$name"
  done
)
"""

# zsh: an _arguments action; the line is read from $LBUFFER (_arguments narrows $words to the
# subcommand's, which would lose a --tasks-dir typed before it).
_ZSH_PREAMBLE: Final = rf"""
# Task names for TASK: the folders of the tasks dir holding a schedule.yaml (no Python run).
# The dir: --tasks-dir typed on the line, else $BASSI_TASKS_DIR, else ~/{DEFAULT_TASKS_SUBDIR}.
{TASK_NAMES_FUNCTION}() {{
  setopt local_options null_glob no_glob_dots no_case_glob no_glob_subst
  local dir=${{BASSI_TASKS_DIR:-$HOME/{DEFAULT_TASKS_SUBDIR}}} i
  local -a line_words names
  line_words=(${{(z)LBUFFER}})
  for (( i = 1; i < $#line_words; i++ )); do
    case $line_words[i] in
      --tasks-dir=?*) dir=${{(Q)line_words[i]#--tasks-dir=}} ;;
      --tasks-dir) dir=${{(Q)line_words[i+1]}} ;;
    esac
  done
  [[ $dir == "~" || $dir == "~/"* ]] && dir=$HOME${{dir[2,-1]}}
  names=("$dir"/*/schedule.yaml)
  names=(${{${{names%/schedule.yaml}}##*/}})
  compadd -a names
}}
"""

# fish: a command substitution in `complete -a`; fish filters by the typed prefix and quotes.
_FISH_PREAMBLE: Final = rf"""
# Task names for TASK: the folders of the tasks dir holding a schedule.yaml (no Python run).
# The dir: --tasks-dir typed on the line, else $BASSI_TASKS_DIR, else ~/{DEFAULT_TASKS_SUBDIR}.
function {TASK_NAMES_FUNCTION}
  set -l dir $BASSI_TASKS_DIR
  test -n "$dir"; or set dir $HOME/{DEFAULT_TASKS_SUBDIR}
  set -l tokens (commandline -opc)
  set -l i 1
  while test $i -le (count $tokens)
    switch $tokens[$i]
      case '--tasks-dir=?*'
        set dir (string replace -- --tasks-dir= '' $tokens[$i])
      case --tasks-dir
        set i (math $i + 1)
        set -q tokens[$i]; and set dir $tokens[$i]
    end
    set i (math $i + 1)
  end
  set dir (string replace -r -- '^~(?=/|$)' $HOME $dir)
  for file in $dir/*/schedule.yaml
    string replace -r -- '^.*/([^/]*)/schedule\.yaml$' '$1' $file
  end
end
"""

TASK_NAMES: Final[dict[str, str | dict[str, str]]] = {
    "bash": TASK_NAMES_FUNCTION,
    "zsh": TASK_NAMES_FUNCTION,
    "fish": f"({TASK_NAMES_FUNCTION})",
    "preamble": {"bash": _BASH_PREAMBLE, "zsh": _ZSH_PREAMBLE, "fish": _FISH_PREAMBLE},
}
"""shtab's ``.complete`` for a TASK argument: the task names, listed by the shell."""


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``parser`` for ``shell`` (one of :data:`SHELLS`)."""
    if shell not in SHELLS:
        raise ValueError(f"no completion for {shell!r}; one of {', '.join(SHELLS)}")
    import shtab

    paths = {"DIR": shtab.DIRECTORY, "PATH": shtab.FILE, "SRC": shtab.FILE}
    _mark_paths(parser, paths)
    return shtab.complete(parser, shell=shell)


def _mark_paths(parser: argparse.ArgumentParser, paths: Mapping[str, object]) -> None:
    """Give every argument whose metavar names a path (``--tasks-dir DIR``, ``--log-file PATH``,
    ``migrate SRC``) shtab's file or directory completion, in ``parser`` and its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub, paths)
        elif (
            isinstance(action.metavar, str)
            and action.metavar in paths
            and not hasattr(action, "complete")
        ):
            action.complete = paths[action.metavar]  # type: ignore[attr-defined]


def completion_command(parser: argparse.ArgumentParser, shell: str) -> int:
    """``bassi-tui completion SHELL``: print the script; exit code 0."""
    script = completion_script(parser, shell)
    sys.stdout.write(script if script.endswith("\n") else script + "\n")
    return 0
