"""An agent task through the engine: its run's records say what the agent did."""

from __future__ import annotations

import json
from pathlib import Path

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished
from bassi_tui.store.results import prune_results
from bassi_tui.store.watcher import classify
from tests.fake_anthropic import FakeAnthropicServer, RecordedRequest, Stream, ToolTurn, Usage
from tests.helpers import EventLog, make_task


def write_report(req: RecordedRequest) -> tuple[str, dict[str, str]]:
    [name] = [
        t["name"]
        for t in req.tools
        if {"file_path", "content"} <= set(t["input_schema"].get("properties", {}))
    ]
    return name, {"file_path": "_RESULTS_FROM_AGENT/report.md", "content": "# Sales\n"}


async def test_an_agent_run_is_recorded_with_its_turns_files_and_transcript(
    fake_anthropic: FakeAnthropicServer, tmp_path: Path
) -> None:
    folder = make_task(tmp_path, "sales", prompt="Write the sales report.", config=None)
    fake_anthropic.enqueue(
        ToolTurn(write_report, text="Writing.", usage=Usage(100, 20, 0, 50)),
        Stream(["Report saved."], input_tokens=30, output_tokens=4, cache_read_input_tokens=50),
    )
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    engine.run_now("sales")  # no config.yaml: the agent is the default executor
    done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success", done.error
    record = done.record
    assert record.executor == "agent" and record.turns == 2
    assert str(record.request_id).startswith("req_")  # the first turn's
    assert (record.input_tokens, record.output_tokens) == (130, 24)
    assert (record.cache_read_input_tokens, record.cache_creation_input_tokens) == (50, 50)
    assert [(f.path, f.bytes) for f in record.files] == [("_RESULTS_FROM_AGENT/report.md", 8)]
    meta = json.loads(record.meta_file.read_text())
    assert meta["turns"] == 2 and meta["files"] == [
        {"path": "_RESULTS_FROM_AGENT/report.md", "bytes": 8}
    ]
    assert record.output_file is not None
    assert "→ write _RESULTS_FROM_AGENT/report.md (8 B)" in record.output_file.read_text()
    assert record.transcript_file.name == f"{record.stem}.transcript.jsonl"
    assert len(record.transcript_file.read_text().splitlines()) == 2
    assert (folder / "workspace" / "_RESULTS_FROM_AGENT" / "report.md").read_text() == "# Sales\n"
    # Pruning takes the transcript with the run.
    removed = prune_results(folder / "results", keep_days=0, now=record.start.replace(year=2099))
    assert record.transcript_file in removed and not record.transcript_file.exists()


def test_the_watcher_ignores_the_agents_workdir(tmp_path: Path) -> None:
    for path in ("workspace/_RESULTS_FROM_AGENT/x.txt", "workspace", "workspace/a/b/c.txt"):
        assert classify(tmp_path, str(tmp_path / "sales" / path)) is None
    assert classify(tmp_path, str(tmp_path / "sales" / "prompt.txt")) == ("task", "sales")


async def test_files_already_in_the_workdir_are_not_listed_as_written(
    fake_anthropic: FakeAnthropicServer, tmp_path: Path
) -> None:
    """The "before" listing is taken with the run's files, ahead of the first request: what
    was there already (the user's data, an older report) is not the run's doing."""
    folder = make_task(tmp_path, "sales", prompt="Write the sales report.", config=None)
    data = folder / "workspace" / "_DATA_FROM_USER"
    data.mkdir(parents=True)
    (data / "input.csv").write_text("a,b\n")
    fake_anthropic.enqueue(
        ToolTurn(write_report, text="Writing."), Stream(["Saved."]), Stream(["Nothing to do."])
    )
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        engine.run_now("sales")
        first = await events.wait_for(lambda e: isinstance(e, RunFinished))
        mark = events.mark()
        engine.run_now("sales")  # writes nothing: the report of the first run stays as it was
        second = await events.wait_for(lambda e: isinstance(e, RunFinished), after=mark)
    finally:
        await engine.stop()
    assert isinstance(first, RunFinished) and isinstance(second, RunFinished)
    assert [f.path for f in first.record.files] == ["_RESULTS_FROM_AGENT/report.md"]
    assert second.status == "success" and second.record.files == ()
