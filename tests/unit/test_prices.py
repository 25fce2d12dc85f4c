"""Prices per model, a run's cost from its tokens, and bassi.yaml ``prices:`` over the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bassi_tui.store.prices import PRICES, Price, price_for, run_cost
from bassi_tui.store.records import RunRecord
from bassi_tui.store.settings import Settings, parse_settings
from bassi_tui.ui import format as fmt


def test_the_shipped_table_prices_cache_reads_and_writes_from_the_input_price() -> None:
    assert PRICES["claude-sonnet-4-5"] == Price(3.0, 15.0, 0.3, 3.75)
    assert PRICES["claude-haiku-4-5"] == Price(1.0, 5.0, 0.1, 1.25)
    assert PRICES["claude-opus-4-6"] == Price(5.0, 25.0, 0.5, 6.25)
    assert {"claude-sonnet-4-6", "claude-opus-4-1", "claude-3-5-haiku"} <= set(PRICES)


@pytest.mark.parametrize(
    ("model", "known"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-5-experimental", None),  # only a date or -latest is taken off
        ("claude-test-model", None),
    ],
)
def test_a_model_is_priced_by_its_name_or_its_name_without_a_date(
    model: str, known: str | None
) -> None:
    assert price_for(model, PRICES) == (PRICES[known] if known else None)


def test_a_cost_sums_every_kind_of_token_at_its_price() -> None:
    # Sonnet 4.5: 1000 x $3 + 500 x $15 + 2000 x $0.30 + 400 x $3.75 per million tokens
    # = 3000 + 7500 + 600 + 1500 = 12600 micro-dollars.
    cost = run_cost(
        "claude-sonnet-4-5-20250929",
        PRICES,
        input_tokens=1000,
        output_tokens=500,
        cache_read_tokens=2000,
        cache_write_tokens=400,
    )
    assert cost == (0.0126, None)
    # Haiku 4.5: 2000 x $1 + 400 x $5 = 4000 micro-dollars; absent cache counts are none.
    assert run_cost("claude-haiku-4-5", PRICES, input_tokens=2000, output_tokens=400) == (
        0.004,
        None,
    )


def test_an_unknown_model_has_no_cost_and_a_note_and_no_model_neither() -> None:
    cost, note = run_cost("claude-test-model", PRICES, input_tokens=10, output_tokens=3)
    assert cost is None
    assert note == (
        "no price known for model claude-test-model: add it under prices: in bassi.yaml"
    )
    assert run_cost(None, PRICES, input_tokens=10, output_tokens=3) == (None, None)
    # A run that got no tokens at all (it failed before the API answered) costs nothing known.
    assert run_cost("claude-haiku-4-5", PRICES, input_tokens=None, output_tokens=None) == (
        None,
        None,
    )


def test_the_cost_and_its_note_are_kept_in_the_runs_metadata(tmp_path: Path) -> None:
    meta = tmp_path / "results" / "2026-01-13_09-00-00.json"
    for cost, note in ((0.0126, None), (None, "no price known for model x")):
        record = RunRecord(meta, None, "t", "success", None, cost_usd=cost, cost_note=note)
        data = record.to_json()
        assert ("cost_usd" in data, "cost_note" in data) == (cost is not None, note is not None)
        back = RunRecord.from_json(data, meta)
        assert (back.cost_usd, back.cost_note, back.extra) == (cost, note, {})
    assert RunRecord.from_json({"cost_usd": "lots"}, meta).cost_usd is None


def test_bassi_yaml_prices_go_over_the_shipped_table() -> None:
    settings, problems = parse_settings(
        "prices:\n"
        "  claude-sonnet-4-5:\n"
        "    input: 2.5\n"
        "  my-model:\n"
        "    input: 1\n"
        "    output: 4\n"
        "    cache_read: 0.05\n"
    )
    assert problems == []
    prices = settings.prices
    assert prices["claude-sonnet-4-5"] == Price(2.5, 15.0, 0.3, 3.75)  # the others as shipped
    assert prices["my-model"] == Price(1.0, 4.0, 0.05, 1.25)  # cache write: 1.25 x input
    assert prices["claude-haiku-4-5"] == PRICES["claude-haiku-4-5"]
    assert parse_settings("handover: true\n")[0].prices == PRICES == Settings().prices


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("prices: 3\n", 1, "prices: expected a mapping of model names"),
        ("prices:\n  m: {input: 1, output: cheap}\n", 2, "prices.m.output: expected a number >= 0"),
        ("prices:\n  m:\n    input: 1\n    output: -2\n", 4, "prices.m.output: expected a number"),
        ("prices:\n  m: [1, 2]\n", 2, "prices.m: expected a mapping of input, output"),
        (
            "prices:\n  m:\n    input: 1\n",
            2,
            "prices.m: a model with no shipped price needs output",
        ),
        (
            "prices:\n  m:\n    inptu: 1\n",
            3,
            "unknown key 'prices.m.inptu' (did you mean 'input'?)",
        ),
        ("prices:\n  m: {input: 1, output: 2}\n  m: {input: 1, output: 2}\n", 3, "duplicate model"),
        ("prices:\n  claude-haiku-4-5:\n    input:\n", 3, "prices.claude-haiku-4-5.input: expe"),
    ],
)
def test_a_bad_prices_entry_names_bassi_yaml_and_its_line(
    text: str, line: int, message: str
) -> None:
    _, problems = parse_settings("defaults:\n  executor: echo\n" + text)
    assert [(p.location(), p.message[: len(message)]) for p in problems] == [
        (f"bassi.yaml:{line + 2}", message)
    ]


def test_a_cost_is_shown_to_a_hundredth_of_a_cent_under_a_dollar() -> None:
    assert [fmt.cost(v) for v in (0.0126, 0.0015875, 3.456, 1234.5, 0.00001, 0.0)] == [
        "$0.0126",
        "$0.0016",
        "$3.46",
        "$1,234.50",
        "<$0.0001",
        "$0",
    ]
