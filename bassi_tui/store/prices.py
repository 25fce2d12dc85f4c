"""What a run cost: a price table per model, and a run's tokens priced by it.

:data:`PRICES` are Anthropic's public list prices in US dollars per million tokens, as of
:data:`PRICES_AS_OF`; they are not fetched, so they age. bassi.yaml ``prices:`` overrides them
(and adds models), key by key: see :mod:`~bassi_tui.store.settings`. Cache writes are priced as
the 5-minute cache's (1.25 x input), cache reads at 0.1 x input. Long-context premiums (prompts
over 200K tokens) and batch discounts are not modelled.

A model is found by its exact name, or by its name without a date or ``-latest`` suffix
(``claude-sonnet-4-5-20250929`` is priced as ``claude-sonnet-4-5``). A model with no price
records its tokens and no cost, with a note that says why (:func:`run_cost`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bassi_tui.store.models import fields_reduce

__all__ = ["PRICES", "PRICES_AS_OF", "Price", "PriceTable", "price_for", "run_cost"]

#: When the shipped prices were last checked against the public list.
PRICES_AS_OF = "2026-02"

#: A 5-minute cache write costs this many times the input price; a cache read this many.
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1


@dataclass(frozen=True, slots=True)
class Price:
    """One model's prices, in US dollars per million tokens."""

    __reduce__ = fields_reduce

    input: float
    output: float
    cache_read: float
    cache_write: float

    @classmethod
    def listed(cls, input: float, output: float) -> Price:
        """A price with the usual cache prices (0.1 x and 1.25 x the input price)."""
        return cls(
            input, output, round(input * CACHE_READ_FACTOR, 6), round(input * CACHE_WRITE_FACTOR, 6)
        )


PriceTable = Mapping[str, Price]
"""Model name -> price."""

PRICES: PriceTable = {
    "claude-opus-4-6": Price.listed(5.0, 25.0),
    "claude-opus-4-5": Price.listed(5.0, 25.0),
    "claude-opus-4-1": Price.listed(15.0, 75.0),
    "claude-opus-4-0": Price.listed(15.0, 75.0),
    "claude-opus-4": Price.listed(15.0, 75.0),
    "claude-sonnet-4-6": Price.listed(3.0, 15.0),
    "claude-sonnet-4-5": Price.listed(3.0, 15.0),
    "claude-sonnet-4-0": Price.listed(3.0, 15.0),
    "claude-sonnet-4": Price.listed(3.0, 15.0),
    "claude-3-7-sonnet": Price.listed(3.0, 15.0),
    "claude-haiku-4-5": Price.listed(1.0, 5.0),
    "claude-3-5-haiku": Price.listed(0.8, 4.0),
    "claude-3-haiku": Price.listed(0.25, 1.25),
    "claude-3-opus": Price.listed(15.0, 75.0),
}
"""The shipped list prices (see the module docstring); bassi.yaml ``prices:`` goes over them."""

_SUFFIX = re.compile(r"-(?:\d{8}|latest)$")


def price_for(model: str, table: PriceTable) -> Price | None:
    """``model``'s price: by its exact name, else without its date or ``-latest``; else None."""
    price = table.get(model)
    if price is None and (bare := _SUFFIX.sub("", model)) != model:
        price = table.get(bare)
    return price


def run_cost(
    model: str | None,
    table: PriceTable,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> tuple[float | None, str | None]:
    """What a run's tokens cost in US dollars (to nine decimals), and a note when unknown.

    No model (an echo or command run) or no tokens at all: no cost and no note. A model with no
    price: no cost, and a note saying so.
    """
    counts = (input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
    if model is None or all(count is None for count in counts):
        return None, None
    price = price_for(model, table)
    if price is None:
        return None, f"no price known for model {model}: add it under prices: in bassi.yaml"
    rates = (price.input, price.output, price.cache_read, price.cache_write)
    total = sum((count or 0) * rate for count, rate in zip(counts, rates, strict=True))
    return round(total / 1_000_000, 9), None
