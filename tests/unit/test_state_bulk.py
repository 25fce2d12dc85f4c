"""write_states: many last_run.json files at once, each a compare-and-swap."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bassi_tui.store.records import TaskState
from bassi_tui.store.state import (
    FSYNC_EACH_UP_TO,
    StateWrite,
    read_state,
    write_state,
    write_states,
)


@pytest.mark.parametrize("count", [3, FSYNC_EACH_UP_TO + 5])
def test_writes_each_state_unless_its_file_changed_meanwhile(tmp_path: Path, count: int) -> None:
    folders = []
    for n in range(count):
        folder = tmp_path / f"t{n}"
        folder.mkdir()
        folders.append(folder)
    planned = [read_state(f).state for f in folders]
    # A run records itself in the second task after the plan was made from its old state.
    recorded = planned[1].replace(run_count=1, last_status="success")
    write_state(folders[1], recorded)
    promised = datetime(2030, 1, 1, 9, tzinfo=UTC)
    writes = [StateWrite(f, s, s.replace(next_run=promised))
              for f, s in zip(folders, planned, strict=True)]  # fmt: skip
    done = write_states(writes)
    assert done[1] is None
    assert read_state(folders[1]).state == recorded  # the run's record is not overwritten
    for n, folder in enumerate(folders):
        if n != 1:
            assert done[n] == writes[n].new
            assert read_state(folder).state.next_run == promised


def test_a_vanished_folder_is_skipped_not_fatal(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    kept = tmp_path / "kept"
    kept.mkdir()
    writes = [
        StateWrite(p, read_state(p).state, TaskState(p.name, run_count=7)) for p in (gone, kept)
    ]
    assert write_states(writes) == [None, TaskState("kept", run_count=7)]
