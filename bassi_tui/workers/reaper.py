"""Nothing a run starts outlives it on a worker, even when its work-horse is killed.

The command executor starts its program in a session (a process group) of its own and stops
that group when it is cancelled. But RQ's stop (``send_stop_job_command``) and its job timeout
SIGKILL the work-horse, which then cannot stop anything; the program, now an orphan, would go
on. So ``bassi-tui worker`` makes itself a *child subreaper* (Linux ``prctl``): orphans of its
work-horses become its children instead of init's, and after each job it kills every child it
has left (the whole process group of each) and reaps them.

This also ends what a successful run left running in the background (``sleep 600 &`` in a
script): on a worker, a run's processes end with the run. Elsewhere than Linux there is no
subreaper, and only the cancel path (the work-horse stops its runner) stops a run's programs.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from pathlib import Path

__all__ = ["become_subreaper", "children_of", "kill_orphans"]

log = logging.getLogger(__name__)

_PR_SET_CHILD_SUBREAPER = 36
#: Seconds to wait for killed orphans (and their own children) to be reaped.
REAP_WAIT = 2.0


def become_subreaper() -> bool:
    """Make this process the reaper of its descendants' orphans; False where it cannot be."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc; empty elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def kill_orphans() -> list[int]:
    """SIGKILL every child this process has (each with its process group), then reap them and
    whatever they leave; the pids that were killed. Call only when no work-horse runs."""
    own_group = os.getpgrp()
    killed = children_of(os.getpid())
    for pid in killed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(pid)
            if group != own_group:
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    if killed:
        log.warning("killed %d process(es) a run left behind: %s", len(killed), killed)
    _reap(time.monotonic() + REAP_WAIT)
    return killed


def _reap(deadline: float) -> None:
    """Reap dead children until none is left (or the deadline): killed orphans' own children
    come to this process as they die, one generation after another."""
    while time.monotonic() < deadline:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if not children_of(os.getpid()):
                return
            time.sleep(0.01)
