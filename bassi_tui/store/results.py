"""results/: one output file and one metadata .json per run, never overwritten.

Names are ``YYYY-MM-DD_HH-MM-SS`` in local time plus ``_2``, ``_3``... when two runs start in the
same second. The output is ``.txt`` (text), ``.md`` (markdown) or ``.output.json`` (json; the
``.output`` keeps it apart from the metadata) and is appended to as the model streams, so any
viewer can tail a running task. The metadata ``<stem>.json`` is written atomically when the run
starts (status ``running``) and again when it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bassi_tui.store.atomic import atomic_write_json
from bassi_tui.store.models import OutputFormat
from bassi_tui.store.records import RunRecord

OUTPUT_SUFFIX: dict[OutputFormat, str] = {"text": ".txt", "markdown": ".md", "json": ".output.json"}
META_RE = re.compile(r"^(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(?:_\d+)?)\.json$")
META_SIZE_CAP = 1024 * 1024


class ResultWriter:
    """The files of one run: create them exclusively, append output, then finish."""

    def __init__(self, output_file: Path, meta_file: Path, handle: IO[bytes]) -> None:
        self.output_file = output_file
        self.meta_file = meta_file
        self._handle: IO[bytes] | None = handle
        self.bytes_written = 0

    @classmethod
    def create(cls, results_dir: Path, started: datetime, fmt: OutputFormat) -> ResultWriter:
        """Create a fresh, never-before-used output file for a run starting at ``started``."""
        results_dir.mkdir(parents=True, exist_ok=True)
        base = started.strftime("%Y-%m-%d_%H-%M-%S")
        suffix = OUTPUT_SUFFIX[fmt]
        for n in range(1, 10_000):
            stem = base if n == 1 else f"{base}_{n}"
            output = results_dir / f"{stem}{suffix}"
            meta = results_dir / f"{stem}.json"
            if meta.exists():
                continue
            try:
                # O_EXCL: two runs starting in the same second can never share a file.
                fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            return cls(output, meta, os.fdopen(fd, "wb"))
        raise OSError(f"no free result name for {base} in {results_dir}")

    @property
    def stem(self) -> str:
        """The shared name of the output and metadata files."""
        return self.meta_file.stem

    def write(self, text: str) -> None:
        """Append streamed text and flush it so tailing viewers see it at once."""
        if self._handle is None:
            raise ValueError("result file is closed")
        data = text.encode("utf-8")
        self._handle.write(data)
        self._handle.flush()
        self.bytes_written += len(data)

    def truncate(self) -> None:
        """Drop what a failed attempt wrote, before a retry starts over."""
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self.bytes_written = 0

    def write_record(self, record: RunRecord, *, durable: bool = True) -> None:
        """Write the run's metadata file atomically."""
        write_run(record, durable=durable)

    def discard(self) -> None:
        """Close and delete the output file (the run could not be opened after all)."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        with contextlib.suppress(OSError):
            self.output_file.unlink()

    def close(self) -> None:
        """Flush to disk and close the output file."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.flush()
                os.fsync(self._handle.fileno())
            with contextlib.suppress(OSError):  # a full disk: what could not be flushed is lost
                self._handle.close()
            self._handle = None


def read_meta(path: Path) -> dict[str, Any] | None:
    """A run's metadata, or None when it is missing, oversized or not a JSON object."""
    try:
        if path.stat().st_size > META_SIZE_CAP:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_run(meta_file: Path) -> RunRecord | None:
    """A run's record from its metadata file, or None when it is missing or unreadable.

    The one reader of run metadata files (the record's own ``from_json`` reads the keys; it
    never lets the output file point outside results/).
    """
    meta = read_meta(meta_file)
    return RunRecord.from_json(meta, meta_file) if meta is not None else None


def write_run(record: RunRecord, *, durable: bool = True) -> None:
    """Write a run's metadata file atomically (the one writer of run metadata files)."""
    atomic_write_json(record.meta_file, record.to_json(), durable=durable)


def list_results(results_dir: Path) -> list[RunRecord]:
    """Every run with a readable metadata file, newest first."""
    return list(iter_results_newest(results_dir))


def _sort_key(stem: str) -> tuple[str, int]:
    # "2026-01-01_10-00-00" or "2026-01-01_10-00-00_3": the counter sorts numerically.
    parts = stem.split("_")
    base = "_".join(parts[:2])
    n = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
    return (base, n)


def _stem_time(stem: str) -> datetime | None:
    try:
        return datetime.strptime(stem[:19], "%Y-%m-%d_%H-%M-%S")
    except ValueError:
        return None


def prune_results(
    results_dir: Path, *, keep_days: int, now: datetime, keep: set[Path] | None = None
) -> list[Path]:
    """Delete runs older than ``keep_days`` (output and metadata), never those in ``keep``.

    Runs still marked ``running`` are never pruned: the run in flight must not lose its files.
    Only runs whose *name* is older than the cutoff (with a day of margin for time zones) have
    their metadata read, so pruning a folder of recent runs costs one listdir.
    """
    cutoff = now - timedelta(days=keep_days)
    name_cutoff = cutoff.replace(tzinfo=None) + timedelta(days=1)
    removed: list[Path] = []
    protected = keep or set()
    try:
        names = os.listdir(results_dir)
    except OSError:
        return removed
    for name in names:
        m = META_RE.match(name)
        stem_time = _stem_time(m.group(1)) if m else None
        if m is None or stem_time is None or stem_time >= name_cutoff:
            continue
        record = read_run(results_dir / name)
        if record is None:
            continue
        started = record.started
        if started is None or started.tzinfo is None or started >= cutoff:
            continue
        if record.running or record.meta_file in protected:
            continue
        for path in (
            record.output_file,
            record.transcript_file,
            record.prompt_file,
            record.meta_file,
        ):
            if path is not None and path not in protected:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed


def iter_results_newest(results_dir: Path) -> Iterator[RunRecord]:
    """Runs newest first, reading each metadata file only when the caller gets that far."""
    try:
        stems = [m.group(1) for n in os.listdir(results_dir) if (m := META_RE.match(n))]
    except OSError:
        return
    for stem in sorted(stems, key=_sort_key, reverse=True):
        record = read_run(results_dir / f"{stem}.json")
        if record is not None:
            yield record


def latest_result(results_dir: Path) -> RunRecord | None:
    """The newest run, reading only its metadata file (cheap enough to call on every change)."""
    return next(iter_results_newest(results_dir), None)
