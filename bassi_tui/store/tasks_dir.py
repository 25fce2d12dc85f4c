"""The tasks dir itself: is it there, is it a folder, may bassi-tui read and write it?

Checked once, before anything else touches it, so every mistake is one clear line and exit code 2
instead of a traceback from deep inside (the lock, the watcher, a worker process):

- the *default* dir (``~/.bassi/tasks-scheduler``, nothing given) is created when missing: a
  first start should just work;
- a dir that was *given* (``--tasks-dir``, ``$BASSI_TASKS_DIR``, ``check DIR``) and does not exist
  is an error, never created: a typo would otherwise start a scheduler of nothing, silently;
- a path that is a file, or a dir bassi-tui cannot write to (the scheduler writes last_run.json,
  results/ and its lock there), is an error; ``bassi-tui check`` and ``next`` only read, so
  they work on a read-only dir.

Write access is proven with a real probe file, not only ``os.access``: a read-only mount
(``EROFS``) refuses even root, and ``os.access`` would say yes.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

from bassi_tui.store.inert import inert

__all__ = ["TasksDirError", "prepare_tasks_dir"]


class TasksDirError(Exception):
    """The tasks dir cannot be used; the message is one line saying what to do."""


def prepare_tasks_dir(path: Path, *, create: bool, write: bool) -> bool:
    """Check ``path`` as a tasks dir (module docstring); True when it was created just now.

    ``create``: make it (and its parents) when missing, else a missing dir is an error.
    ``write``: it must be writable (the app, headless, ``run``), else readable is enough.
    Raises :class:`TasksDirError`.
    """
    shown = inert(str(path))
    created = False
    if not path.exists() and not path.is_symlink():
        if not create:
            raise TasksDirError(
                f"no tasks dir at {shown} (create it with mkdir -p {inert(shlex.quote(str(path)))})"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TasksDirError(
                f"cannot create the tasks dir {shown}: {exc.strerror or exc}"
            ) from None
        created = True
    if not path.is_dir():
        what = "a broken symlink" if path.is_symlink() and not path.exists() else "a file"
        raise TasksDirError(f"{shown} is {what}, not a tasks dir (a folder of task folders)")
    if not os.access(path, os.R_OK | os.X_OK):
        raise TasksDirError(f"cannot read the tasks dir {shown} (permission denied)")
    if write and not _writable(path):
        raise TasksDirError(
            f"cannot write to the tasks dir {shown}: bassi-tui needs to write there "
            "(last_run.json, results/, its lock); `bassi-tui check` works on a read-only dir"
        )
    return created


def _writable(path: Path) -> bool:
    if not os.access(path, os.W_OK | os.X_OK):
        return False
    try:
        # Dot-prefixed: the watcher and the folder scan ignore it; deleted on close.
        with tempfile.NamedTemporaryFile(dir=path, prefix=".bassi-probe-"):
            pass
    except OSError:
        return False
    return True
