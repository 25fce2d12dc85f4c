"""The demo's agent task: the real agent path against the scripted stand-in, with no key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bassi_tui.demo import ensure_demo_tasks
from bassi_tui.demo_model import DEMO_KEY, STAND_IN, DemoModel, start_demo_model
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished
from tests.helpers import EventLog


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoModel]:
    model = start_demo_model()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", DEMO_KEY)
    try:
        yield model
    finally:
        model.stop()


async def test_the_demo_agent_writes_its_note_with_the_real_tools(
    stand_in: DemoModel, tmp_path: Path
) -> None:
    ensure_demo_tasks(tmp_path)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("agent-notes")
        done = await events.wait_for(
            lambda e: isinstance(e, RunFinished) and e.task == "agent-notes"
        )
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success", done.error
    note = tmp_path / "agent-notes" / "workspace" / "_RESULTS_FROM_AGENT" / "note.md"
    assert note.read_text().startswith("# Demo note")
    assert "Write a short note about" in note.read_text()  # the expanded prompt reached it
    record = done.record
    assert record.turns == 2 and [f.path for f in record.files] == ["_RESULTS_FROM_AGENT/note.md"]
    assert record.model == STAND_IN  # the records do not pretend Claude answered
    assert record.output_file is not None
    shown = record.output_file.read_text()
    assert "→ write _RESULTS_FROM_AGENT/note.md" in shown and "Done." in shown
    assert DEMO_KEY not in record.transcript_file.read_text()
