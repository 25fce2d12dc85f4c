"""End to end: the engine and `bassi-tui run` with the real SDK against the fake Messages API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bassi_tui.cli import main
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished, RunOutput, RunRetrying
from tests.fake_anthropic import FAKE_KEY, FakeAnthropicServer, Status, Stream
from tests.helpers import EventLog, make_task

CONFIG = (
    "executor: anthropic\nmodel: claude-test-model\nmax_tokens: 300\nsystem: Be brief.\n"
    "retry_delay: 0.01\n"
)


async def test_engine_streams_the_answer_into_the_result_and_records_usage(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.enqueue(Stream(["Good ", "morning, ", "Berlin."], input_tokens=42))
    make_task(tmp_path, "greet", prompt="Greet {task_name}", config=CONFIG)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now("greet")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success"
    chunks = [e.text for e in events.events if isinstance(e, RunOutput)]
    assert chunks == ["Good ", "morning, ", "Berlin."]
    assert done.result_file is not None
    assert done.result_file.read_text() == "Good morning, Berlin."
    meta = json.loads(done.meta_file.read_text()) if done.meta_file else {}
    assert meta["input_tokens"] == 42 and meta["output_tokens"] == 3
    assert meta["model"] == "claude-test-model"
    assert str(meta["request_id"]).startswith("req_")
    request = fake_anthropic.requests[-1]
    assert request.api_key == FAKE_KEY
    assert request.body["messages"] == [{"role": "user", "content": "Greet greet"}]
    assert request.body["system"] == "Be brief." and request.body["max_tokens"] == 300
    # The key is never written anywhere in the task folder.
    for path in (tmp_path / "greet").rglob("*"):
        if path.is_file():
            assert FAKE_KEY not in path.read_text(errors="replace")


async def test_transient_errors_are_retried_and_counted(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.enqueue(Status(529), Status(429, retry_after=0.01), Stream(["third time lucky"]))
    make_task(tmp_path, "flaky", config=CONFIG)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        engine.run_now("flaky")
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished) and done.status == "success"
    retries = [e for e in events.events if isinstance(e, RunRetrying)]
    assert [r.attempt for r in retries] == [1, 2]
    meta = json.loads(done.meta_file.read_text()) if done.meta_file else {}
    assert meta["attempts"] == 3
    assert done.result_file is not None and done.result_file.read_text() == "third time lucky"


@pytest.mark.parametrize(
    ("code", "hint"),
    [(401, "ANTHROPIC_API_KEY"), (404, "claude-test-model"), (413, "prompt.txt")],
)
def test_permanent_errors_fail_once_with_advice(
    tmp_path: Path,
    fake_anthropic: FakeAnthropicServer,
    capsys: pytest.CaptureFixture[str],
    code: int,
    hint: str,
) -> None:
    fake_anthropic.enqueue(Status(code))
    make_task(tmp_path, "nope", config=CONFIG)
    assert main(["run", "nope", "--tasks-dir", str(tmp_path)]) == 1
    assert hint in capsys.readouterr().err
    assert len(fake_anthropic.requests) == 1  # never retried
    state = json.loads((tmp_path / "nope" / "last_run.json").read_text())
    assert state["last_status"] == "failed" and hint in state["history"][0]["error"]


def test_run_command_streams_to_stdout(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_anthropic.enqueue(Stream(["one ", "two"]))
    make_task(tmp_path, "cli", config=CONFIG)
    assert main(["run", "cli", "--tasks-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("one two")
