"""A run's cost, from the usage the Messages API reports and the prices in force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bassi_tui.cli import main
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import RunFinished
from bassi_tui.store.records import RunRecord
from tests.fake_anthropic import FakeAnthropicServer, RecordedRequest, Stream, ToolTurn, Usage
from tests.helpers import EventLog, make_task, write_atomic


def anthropic(model: str) -> str:
    return f"executor: anthropic\nmodel: {model}\nmax_tokens: 300\nretry_delay: 0.01\n"


async def one_run(tasks: Path, name: str) -> RunRecord:
    engine = Engine(tasks, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        assert engine.run_now(name)
        done = await events.wait_for(lambda e: isinstance(e, RunFinished))
    finally:
        await engine.stop()
    assert isinstance(done, RunFinished)
    assert done.status == "success", done.error
    return done.record


def meta_of(record: RunRecord) -> dict[str, object]:
    data = json.loads(record.meta_file.read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("model", "cost"),
    [
        # Sonnet 4.5, $3 in / $15 out per million: 1000 x 3 + 200 x 15 = 6000 micro-dollars.
        ("claude-sonnet-4-5-20250929", 0.006),
        # Haiku 4.5, $1 in / $5 out: 1000 x 1 + 200 x 5 = 2000 micro-dollars.
        ("claude-haiku-4-5", 0.002),
    ],
)
async def test_a_runs_cost_is_its_tokens_at_its_models_prices(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer, model: str, cost: float
) -> None:
    fake_anthropic.enqueue(Stream(["Good ", "morning."], input_tokens=1000, output_tokens=200))
    make_task(tmp_path, "greet", config=anthropic(model))
    record = await one_run(tmp_path, "greet")
    assert (record.model, record.input_tokens, record.output_tokens) == (model, 1000, 200)
    assert (record.cost_usd, record.cost_note) == (cost, None)
    meta = meta_of(record)
    assert meta["cost_usd"] == cost and "cost_note" not in meta


def write_report(req: RecordedRequest) -> tuple[str, dict[str, str]]:
    [name] = [
        t["name"]
        for t in req.tools
        if {"file_path", "content"} <= set(t["input_schema"].get("properties", {}))
    ]
    return name, {"file_path": "_RESULTS_FROM_AGENT/report.md", "content": "# Sales\n"}


async def test_an_agent_runs_cost_sums_its_turns_cache_reads_and_writes_included(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.enqueue(
        ToolTurn(write_report, text="Writing.", usage=Usage(100, 20, 0, 50)),
        Stream(["Saved."], input_tokens=30, output_tokens=4, cache_read_input_tokens=50),
    )
    make_task(tmp_path, "sales", config="executor: agent\nmodel: claude-opus-4-6\n")
    record = await one_run(tmp_path, "sales")
    assert record.turns == 2
    # Opus 4.6 per million: $5 in, $25 out, $0.50 cache read, $6.25 cache write. Summed over
    # the turns: 130 in, 24 out, 50 read, 50 written:
    # 130 x 5 + 24 x 25 + 50 x 0.5 + 50 x 6.25 = 650 + 600 + 25 + 312.5 = 1587.5 micro-dollars.
    assert (record.input_tokens, record.output_tokens) == (130, 24)
    assert (record.cache_read_input_tokens, record.cache_creation_input_tokens) == (50, 50)
    assert record.cost_usd == 0.0015875
    assert meta_of(record)["cost_usd"] == 0.0015875


async def test_an_unknown_model_records_its_tokens_no_cost_and_why(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer
) -> None:
    fake_anthropic.enqueue(Stream(["Hi."], input_tokens=42, output_tokens=3))
    make_task(tmp_path, "greet", config=anthropic("claude-test-model"))
    record = await one_run(tmp_path, "greet")
    assert (record.input_tokens, record.output_tokens, record.cost_usd) == (42, 3, None)
    note = "no price known for model claude-test-model: add it under prices: in bassi.yaml"
    assert record.cost_note == note
    meta = meta_of(record)
    assert meta["input_tokens"] == 42 and "cost_usd" not in meta and meta["cost_note"] == note


async def test_an_echo_run_has_no_cost_and_no_note(tmp_path: Path) -> None:
    make_task(tmp_path, "echo")  # echo counts words as tokens, but nothing was paid for
    record = await one_run(tmp_path, "echo")
    assert record.input_tokens and (record.cost_usd, record.cost_note) == (None, None)


BASSI_PRICES = (
    "prices:\n"
    "  claude-test-model:\n"
    "    input: 2\n"
    "    output: 10\n"
    "  claude-haiku-4-5:\n"
    "    output: 8\n"
)


async def test_bassi_yaml_prices_are_used_by_the_engine(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer
) -> None:
    write_atomic(tmp_path / "bassi.yaml", BASSI_PRICES)
    fake_anthropic.enqueue(Stream(["Hi."], input_tokens=1000, output_tokens=200))
    make_task(tmp_path, "greet", config=anthropic("claude-test-model"))
    record = await one_run(tmp_path, "greet")
    # Its own price: 1000 x $2 + 200 x $10 per million = 4000 micro-dollars.
    assert (record.cost_usd, record.cost_note) == (0.004, None)


def test_bassi_yaml_prices_are_used_by_bassi_tui_run(
    tmp_path: Path, fake_anthropic: FakeAnthropicServer
) -> None:
    write_atomic(tmp_path / "bassi.yaml", BASSI_PRICES)
    fake_anthropic.enqueue(Stream(["Hi."], input_tokens=1000, output_tokens=200))
    make_task(tmp_path, "cli", config=anthropic("claude-haiku-4-5"))
    assert main(["run", "cli", "--tasks-dir", str(tmp_path)]) == 0
    [meta_file] = (tmp_path / "cli" / "results").glob("*.json")
    # Haiku's shipped input price, bassi.yaml's output price: 1000 x $1 + 200 x $8 = 2600.
    assert json.loads(meta_file.read_text())["cost_usd"] == 0.0026
