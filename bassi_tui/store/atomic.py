"""Atomic file writes: a reader, or a crash, never sees half a file.

Write to a temp file in the same folder, fsync it, ``os.replace`` it over the target, then fsync
the folder so the rename itself survives a power cut. Temp names start with ``.`` and end with
``.tmp`` so the watcher and the task scanner ignore them, and stray ones can be cleaned up.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


def temp_name_for(path: Path) -> Path:
    """A unique temp path beside ``path`` (same folder, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def is_temp_file(name: str) -> bool:
    """True for names this module creates as temp files."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _fsync_dir(folder: Path) -> None:
    # Not every filesystem lets a folder be opened for fsync (some network ones); the rename has
    # still happened, so a failure here only weakens the power-cut guarantee.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically; ``durable`` also fsyncs file and folder.

    Without fsync the rename is still atomic for every reader and survives a crash of the
    process (kill -9); only a power cut could lose it. Records rewritten moments later (a run's
    "running" metadata) skip it: at a thousand runs starting at once, fsync is the bottleneck.
    """
    tmp = temp_name_for(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Replace ``path`` with UTF-8 ``text`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def atomic_write_json(path: Path, obj: Any, *, durable: bool = True) -> None:
    """Replace ``path`` with ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    atomic_write_text(path, text, durable=durable)


def clean_stray_temps(folder: Path) -> list[Path]:
    """Remove temp files a crashed writer left in ``folder``; return what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if is_temp_file(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
