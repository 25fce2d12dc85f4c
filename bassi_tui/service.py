"""Staying up: ``bassi-tui stop`` and ``bassi-tui service install|uninstall|status``.

``stop`` ends the instance that schedules the tasks dir, whichever it is (the detached successor
a scheduling app left when its terminal closed, a ``--headless``, a systemd service, an app):
it reads the holder's pid from the instance lock file, checks the lock is really held, sends
SIGTERM (runs in flight are recorded as interrupted, as on any stop) and waits until the lock is
free. Exit codes:

- 0: stopped (the lock is free, or another instance that was monitoring schedules now: said);
- 1: nothing to stop (no instance schedules the tasks dir);
- 2: the tasks dir cannot be used (as every command);
- 3: it could not be stopped: it runs on another host, belongs to another user, is not a
  bassi-tui, or still holds the lock after ``--timeout`` seconds (30).

``service`` manages a systemd *user* unit running ``--headless`` on one tasks dir, so schedules
survive logouts and reboots (with lingering on: ``loginctl enable-linger``):

- ``install`` writes ``~/.config/systemd/user/bassi-tui-<dir name>-<hash>.service`` (``$XDG_
  CONFIG_HOME`` honoured; the hash of the tasks dir's absolute path keeps two dirs apart), with
  this interpreter's ``python -m bassi_tui --headless --tasks-dir DIR``, ``Restart=on-failure``,
  and the optional environment file ``~/.config/bassi-tui/env`` (``ANTHROPIC_API_KEY=...``: a
  service does not see your shell's variables, and the key is never written into the unit);
  then ``systemctl --user daemon-reload`` and ``enable --now``. Installing again rewrites it.
- ``uninstall`` runs ``disable --now``, removes the file and reloads.
- ``status`` prints the unit, ``is-enabled``, ``is-active`` and who schedules the tasks dir.

Exit codes: 0 done (``status``: installed and active); 1 ``uninstall`` or ``status`` of a unit
that is not installed (``status``: or not active); 2 the tasks dir cannot be used; 3 systemd is
not available (no ``systemctl``, or ``systemctl --user`` cannot reach a user manager, as in most
containers) or a systemctl call failed: said, with what systemctl printed.

``systemctl`` is looked up on ``PATH``; ``$BASSI_SYSTEMCTL`` names another program (tests use a
fake that records its arguments, since systemd cannot run in their sandbox).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bassi_tui.scheduler.handover import (
    Holder,
    command_line,
    looks_like_bassi,
    pid_alive,
    scheduler_holder,
    stop_scheduler,
)
from bassi_tui.store.atomic import atomic_write_text
from bassi_tui.store.inert import inert

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOTHING",
    "SYSTEMCTL_ENV",
    "env_file",
    "service_command",
    "stop_command",
    "unit_name",
    "unit_path",
    "unit_text",
]

EXIT_NOTHING = 1
"""``stop`` with nothing to stop; ``uninstall``/``status`` of a unit that is not installed."""
EXIT_FAILED = 3
"""``stop`` could not stop it; ``service`` found no usable systemd, or systemctl failed."""

SYSTEMCTL_ENV = "BASSI_SYSTEMCTL"
"""Names the systemctl program to use instead of the one on PATH."""
SYSTEMCTL_TIMEOUT_S = 60.0


def _say(line: str) -> None:
    print(inert(line), file=sys.stderr)


def _tell(line: str) -> None:
    print(inert(line))


# -- stop -------------------------------------------------------------------------------------


def stop_command(tasks_dir: Path, *, timeout: float) -> int:
    """``bassi-tui stop``: end the instance that schedules ``tasks_dir``; see the module doc."""
    holder = scheduler_holder(tasks_dir)
    if holder is None:
        _say(f"bassi-tui: nothing to stop: no bassi-tui schedules {tasks_dir}")
        return EXIT_NOTHING
    if holder.pid is None:
        _say(f"bassi-tui: the lock of {tasks_dir} is held but does not say by whom; try again")
        return EXIT_FAILED
    if not holder.here:
        _say(
            f"bassi-tui: {holder.describe()} schedules {tasks_dir}: it runs on another host; "
            "run `bassi-tui stop` there"
        )
        return EXIT_FAILED
    if not looks_like_bassi(holder.pid):
        _say(
            f"bassi-tui: the lock of {tasks_dir} names pid {holder.pid}, which is not a "
            "bassi-tui: not stopping it"
        )
        return EXIT_FAILED
    what = _kind(holder.pid)
    _tell(f"Stopping the {what} that schedules {tasks_dir} ({holder.describe()})…")
    try:
        outcome = stop_scheduler(tasks_dir, holder.pid, timeout=timeout)
    except PermissionError:
        _say(f"bassi-tui: pid {holder.pid} belongs to another user: not allowed to stop it")
        return EXIT_FAILED
    if outcome.result == "timeout":
        _say(
            f"bassi-tui: pid {holder.pid} still schedules after {timeout:g} s (runs in flight "
            f"are being recorded?); `kill -9 {holder.pid}` ends it at once, its runs then show "
            "as interrupted at the next start"
        )
        return EXIT_FAILED
    if outcome.successor is not None:
        _tell(
            f"Stopped pid {holder.pid} in {outcome.waited_s:.1f} s; another bassi-tui "
            f"({outcome.successor.describe()}) was monitoring and schedules now"
        )
    else:
        _tell(
            f"Stopped pid {holder.pid} in {outcome.waited_s:.1f} s: nothing schedules "
            f"{tasks_dir} now"
        )
    unit = unit_name(tasks_dir)
    if _in_unit(holder.pid, unit):
        _tell(
            f"It was the systemd service {unit}: it starts again at the next login or boot; "
            "`bassi-tui service uninstall` removes it"
        )
    return 0


def _kind(pid: int) -> str:
    """What the process is, from its command line: 'detached bassi-tui --headless', ..."""
    argv = command_line(pid) or []
    if "--successor-of" in argv:
        return "detached bassi-tui --headless (a hand-over)"
    if "--headless" in argv:
        return "bassi-tui --headless"
    return "bassi-tui" if argv else "bassi-tui instance"


def _in_unit(pid: int, unit: str) -> bool:
    """True when ``pid`` runs in systemd unit ``unit`` (its cgroup, Linux)."""
    try:
        return f"/{unit}" in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


# -- the unit ---------------------------------------------------------------------------------


def _config_home() -> Path:
    raw = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(raw) if raw and Path(raw).is_absolute() else Path.home() / ".config"


def unit_name(tasks_dir: Path) -> str:
    """``bassi-tui-<dir name>-<8 hex of the path's hash>.service``: one unit a tasks dir."""
    digest = hashlib.sha256(str(tasks_dir).encode("utf-8", "surrogateescape")).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", tasks_dir.name.lower()).strip("-")[:32] or "tasks"
    return f"bassi-tui-{slug}-{digest}.service"


def unit_path(tasks_dir: Path) -> Path:
    """Where ``install`` writes the unit of ``tasks_dir``."""
    return _config_home() / "systemd" / "user" / unit_name(tasks_dir)


def env_file() -> Path:
    """The optional environment file every bassi-tui unit reads (``ANTHROPIC_API_KEY=...``)."""
    return _config_home() / "bassi-tui" / "env"


_PLAIN = re.compile(r"[A-Za-z0-9/._+,:=@-]+")


def _unit_word(text: str) -> str:
    """One word of a unit file line, quoted for systemd when it needs to be.

    Double quotes keep spaces; ``\\`` and ``"`` are escaped inside; ``%`` (specifiers) and
    ``$`` (variables) are doubled to stay literal.
    """
    if any(ch in text for ch in "\n\r\0"):
        raise ValueError(f"a path with a line break cannot go in a unit file: {text!r}")
    if not _PLAIN.fullmatch(text):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text.replace("%", "%%").replace("$", "$$")


def _specifiers_escaped(text: str) -> str:
    """A whole-line value (a description, a path) with ``%`` kept literal."""
    if any(ch in text for ch in "\n\r\0"):
        raise ValueError(f"a line break cannot go in a unit file: {text!r}")
    return text.replace("%", "%%")


def exec_argv(tasks_dir: Path) -> list[str]:
    """The service's command: this interpreter's bassi-tui, headless, on ``tasks_dir``."""
    return [sys.executable, "-m", "bassi_tui", "--headless", "--tasks-dir", str(tasks_dir)]


def unit_text(tasks_dir: Path) -> str:
    """The unit file that runs ``--headless`` on ``tasks_dir``."""
    exec_start = " ".join(_unit_word(word) for word in exec_argv(tasks_dir))
    return (
        "# Written by `bassi-tui service install`; `bassi-tui service uninstall` removes it.\n"
        "[Unit]\n"
        f"Description=bassi-tui scheduler for {_specifiers_escaped(str(tasks_dir))}\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        "# ANTHROPIC_API_KEY=... and other variables the tasks need (optional file, mode 600)\n"
        f"EnvironmentFile=-{_specifiers_escaped(str(env_file()))}\n"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "# SIGTERM to bassi-tui alone: it records runs in flight and ends their commands itself\n"
        "KillMode=mixed\n"
        "TimeoutStopSec=60\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


# -- systemctl --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Called:
    """One systemctl call's outcome."""

    code: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        """True on exit 0."""
        return self.code == 0

    def said(self) -> str:
        """What systemctl printed, on one line."""
        text = (self.err.strip() or self.out.strip() or f"exit {self.code}").splitlines()
        return " / ".join(line.strip() for line in text if line.strip())


def find_systemctl() -> str | None:
    """The systemctl program: ``$BASSI_SYSTEMCTL`` or ``systemctl`` on PATH; None if neither."""
    return shutil.which(os.environ.get(SYSTEMCTL_ENV) or "systemctl")


def _systemctl(program: str, *args: str) -> Called:
    try:
        done = subprocess.run(
            [program, "--user", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=SYSTEMCTL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Called(-1, "", str(exc))
    return Called(done.returncode, done.stdout, done.stderr)


def _no_systemd(why: str) -> int:
    _say(
        f"bassi-tui: {why}: `bassi-tui service` needs systemd's user manager. Without it, keep "
        "`bassi-tui --headless` running under tmux or screen, or let the app hand over when "
        "its terminal closes (the default)"
    )
    return EXIT_FAILED


def service_command(action: str, tasks_dir: Path) -> int:
    """``bassi-tui service install|uninstall|status`` on ``tasks_dir``; see the module doc."""
    program = find_systemctl()
    if program is None:
        named = os.environ.get(SYSTEMCTL_ENV)
        return _no_systemd(
            f"{SYSTEMCTL_ENV}={named} was not found" if named else "no systemctl on PATH"
        )
    if action == "install":
        return _install(program, tasks_dir)
    if action == "uninstall":
        return _uninstall(program, tasks_dir)
    return _status(program, tasks_dir)


def _install(program: str, tasks_dir: Path) -> int:
    path, unit = unit_path(tasks_dir), unit_name(tasks_dir)
    text = unit_text(tasks_dir)
    before = path.read_text(encoding="utf-8") if path.is_file() else None
    # A user manager must answer before anything is written.
    probe = _systemctl(program, "daemon-reload")
    if not probe.ok:
        return _no_systemd(f"`systemctl --user` does not work here ({probe.said()})")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    reload = _systemctl(program, "daemon-reload")
    enable = _systemctl(program, "enable", "--now", unit) if reload.ok else reload
    if not enable.ok:
        _say(
            f"bassi-tui: systemctl --user enable --now {unit} failed: {enable.said()}. The unit "
            f"file is {path}; `bassi-tui service uninstall` removes it"
        )
        return EXIT_FAILED
    verb = "Installed" if before is None else "Updated" if before != text else "Reinstalled"
    _tell(f"{verb} and enabled {unit} ({path}):")
    _tell(f"  runs {' '.join(exec_argv(tasks_dir))}")
    _tell("  started now and at every login, restarted on failure")
    _tell(f"  log: journalctl --user -u {unit}   stop: bassi-tui service uninstall")
    if before is not None and before != text:
        _tell(f"  the unit changed: `systemctl --user restart {unit}` runs the new one")
    if not env_file().exists():
        _tell(
            f"  a service does not see your shell's variables: put ANTHROPIC_API_KEY=... in "
            f"{env_file()} (chmod 600), then `systemctl --user restart {unit}`"
        )
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    if user and not Path("/var/lib/systemd/linger", user).exists():
        _tell(
            "  lingering is off: your user services stop when you log out; "
            f"`loginctl enable-linger {user}` keeps them running"
        )
    holder = scheduler_holder(tasks_dir)
    if holder is not None and holder.pid is not None and not _in_unit(holder.pid, unit):
        _tell(f"  {holder.describe()} schedules now: the service takes over when it stops")
    return 0


def _uninstall(program: str, tasks_dir: Path) -> int:
    path, unit = unit_path(tasks_dir), unit_name(tasks_dir)
    if not path.is_file():
        _say(f"bassi-tui: {unit} is not installed (no {path})")
        return EXIT_NOTHING
    disable = _systemctl(program, "disable", "--now", unit)
    path.unlink()
    _systemctl(program, "daemon-reload")
    if not disable.ok:
        _say(f"bassi-tui: removed {path}, but systemctl --user disable failed: {disable.said()}")
        return EXIT_FAILED
    _tell(f"Stopped, disabled and removed {unit} ({path})")
    return 0


def _status(program: str, tasks_dir: Path) -> int:
    path, unit = unit_path(tasks_dir), unit_name(tasks_dir)
    holder = scheduler_holder(tasks_dir)
    installed = path.is_file()
    _tell(f"unit:      {unit} ({path if installed else 'not installed'})")
    active = False
    if installed:
        enabled = _systemctl(program, "is-enabled", unit)
        state = _systemctl(program, "is-active", unit)
        if state.code < 0 or (not state.out.strip() and not state.ok):
            return _no_systemd(f"`systemctl --user` does not work here ({state.said()})")
        active = state.ok
        _tell(f"enabled:   {enabled.out.strip() or enabled.said()}")
        _tell(f"active:    {state.out.strip() or state.said()}")
    _tell(f"scheduler: {_who(holder, unit)}")
    return 0 if installed and active else EXIT_NOTHING


def _who(holder: Holder | None, unit: str) -> str:
    if holder is None:
        return "none (nothing schedules the tasks dir)"
    if holder.pid is not None and holder.here and pid_alive(holder.pid):
        what = "this service" if _in_unit(holder.pid, unit) else _kind(holder.pid)
        return f"{holder.describe()} ({what})"
    return holder.describe()
