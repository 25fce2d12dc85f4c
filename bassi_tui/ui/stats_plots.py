"""The stats screen's plots: a :class:`~bassi_tui.store.analytics.Series` drawn with plotext.

Each ``draw_*`` function draws one figure onto a cleared plotext :class:`Plot` for a plot
``width`` cells wide; :class:`DayPlot` calls its drawer on every render, so day labels are
thinned for the width it has. Two series in one plot differ by their marks, not only their
colour (``█`` runs and ``▒`` failures; ``•`` and ``x`` for the median and the 95th percentile),
and every mark is ASCII when the app draws ASCII (``#``, ``x``, ``o``, ``+``), since the app's
line filter would blank block characters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.align import Align
from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual_plotext import Plot, PlotextPlot

from bassi_tui.store.analytics import Series
from bassi_tui.ui import format as fmt

Drawer = Callable[[Plot, int], str | None]
Figure = Callable[[Plot, "Series", int, "Palette"], str | None]
RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Marks:
    """The characters plots are drawn with: block and dot marks, or ASCII."""

    bar: str
    second_bar: str
    point: str
    second_point: str


BLOCKS = Marks(bar="█", second_bar="▒", point="•", second_point="x")
ASCII_MARKS = Marks(bar="#", second_bar="x", point="o", second_point="+")


def marks() -> Marks:
    """The marks for the app's look (see :func:`bassi_tui.ui.format.glyphs`)."""
    return ASCII_MARKS if fmt.glyphs() is fmt.ASCII else BLOCKS


@dataclass(frozen=True, slots=True)
class Palette:
    """Series colours, from the app's theme."""

    runs: RGB
    failures: RGB
    first: RGB
    second: RGB
    cost: RGB

    @classmethod
    def from_theme(cls, variables: dict[str, str]) -> Palette:
        """Colours from Textual theme variables (``success``, ``error``, ``accent``...)."""

        def rgb(name: str, fallback: str) -> RGB:
            return Color.parse(variables.get(name, fallback)).rgb

        return cls(
            runs=rgb("success", "green"),
            failures=rgb("error", "red"),
            first=rgb("accent", "cyan"),
            second=rgb("primary", "blue"),
            cost=rgb("warning", "yellow"),
        )


# -- axes -----------------------------------------------------------------------------------------


def nice_step(span: float, parts: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts ``span`` into about
    ``parts`` parts."""
    raw = span / max(1, parts)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10 * power


#: Round steps of a time axis, in seconds: a clock's, not a decimal's (no ``3m 20s``).
SECOND_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)


def time_step(span: float, parts: int) -> float:
    """The first of ``SECOND_STEPS`` that cuts ``span`` seconds into at most ``parts`` parts
    (below a second, a decimal step)."""
    raw = span / max(1, parts)
    if raw < 1:
        return nice_step(span, parts)
    return float(next((s for s in SECOND_STEPS if s >= raw), 3600 * math.ceil(raw / 3600)))


def y_ticks(
    top: float,
    label: Callable[[float], str],
    *,
    whole: bool = False,
    seconds: bool = False,
    parts: int = 4,
) -> tuple[list[float], list[str]]:
    """Ticks from 0 to a round number at or above ``top`` (1 when there is nothing),
    labelled by ``label``; ``whole`` keeps the step a whole number (counts), ``seconds`` makes
    it a clock's (durations)."""
    span = top if top > 0 else 1.0
    step = time_step(span, parts) if seconds else nice_step(span, parts)
    if whole:
        step = max(1.0, round(step))
    count = max(1, math.ceil((top if top > 0 else 1.0) / step - 1e-9))
    ticks = [i * step for i in range(count + 1)]
    return ticks, [label(t) for t in ticks]


def day_labels(series: Series) -> list[str]:
    """A label per day: ``Mon 02`` over a week, ``03-02`` over longer windows."""
    form = "%a %d" if len(series.days) <= 7 else "%m-%d"
    return [d.day.strftime(form) for d in series.days]


def x_ticks(labels: Sequence[str], width: int) -> tuple[list[float], list[str]]:
    """As many day labels as fit ``width`` cells (today's always), evenly spaced."""
    count = len(labels)
    cell = max((len(label) for label in labels), default=5) + 3
    fit = max(2, (width - 8) // cell)
    stride = max(1, math.ceil(count / fit))
    picked = sorted(range(count - 1, -1, -stride))
    return [float(i) for i in picked], [labels[i] for i in picked]


def seconds_label(value: float) -> str:
    """``0``, ``8ms``, ``30s``, ``1.5s``, ``2m``, ``1h 05m``: a duration axis label."""
    if value <= 0:
        return "0"
    if value < 1:
        return f"{value * 1000:.3g}ms"
    if value < 60:
        return f"{value:.3g}s"
    return fmt.span(value).replace(" 00s", "").replace(" 00m", "")


def money_label(value: float) -> str:
    """``$0``, ``$0.25``, ``$0.005``, ``$12``: a cost axis label."""
    if value <= 0:
        return "$0"
    if value >= 10:
        return f"${value:,.0f}"
    return f"${value:.2f}" if value >= 0.01 else f"${value:.3g}"


# -- figures --------------------------------------------------------------------------------------


def _frame(plt: Plot, series: Series, width: int, title: str) -> None:
    """Title, x range and day labels; called after the data (plotting resets the ticks)."""
    plt.title(title)
    plt.xlim(-0.6, len(series.days) - 0.4)
    plt.xticks(*x_ticks(day_labels(series), width))


def _bars(plt: Plot, values: Sequence[float], mark: str, colour: RGB) -> None:
    """A bar for each day with a value, one call each: plotext widens a short bar drawn among
    others in one call over its neighbours' gaps, and a zero-high one blanks what is under it.
    (No plotext legend: it covers the top left of the data; titles name the marks.)"""
    for day, value in enumerate(values):
        if value > 0:
            plt.bar([float(day)], [value], marker=mark, color=colour, width=0.6)


def _y_axis(plt: Plot, ticks: tuple[list[float], list[str]]) -> None:
    plt.ylim(0, ticks[0][-1])
    plt.yticks(*ticks)


def _empty(title: str, what: str) -> str:
    return f"{title}\n\n{what}"


def draw_runs(plt: Plot, series: Series, width: int, colours: Palette) -> str | None:
    """Runs per day as bars, the failures among them drawn over their foot; or what to say
    instead when there is nothing to draw (so for each ``draw_*``)."""
    m = marks()
    runs = [float(d.summary.runs) for d in series.days]
    if not any(runs):
        return _empty(f"Runs {m.bar} and failures {m.second_bar} per day", "No runs in these days.")
    _bars(plt, runs, m.bar, colours.runs)
    _bars(plt, [float(d.summary.failures) for d in series.days], m.second_bar, colours.failures)
    _frame(plt, series, width, f"Runs {m.bar} and failures {m.second_bar} per day")
    _y_axis(plt, y_ticks(max(runs, default=0.0), lambda v: f"{v:.0f}", whole=True))
    return None


def draw_duration(plt: Plot, series: Series, width: int, colours: Palette) -> str | None:
    """The median and 95th-percentile run time of each day that had runs."""
    m = marks()
    top = 0.0
    p95 = [d.summary.duration_p95 for d in series.days]
    p50 = [d.summary.duration_p50 for d in series.days]
    # The median last: where the two meet (one run a day), its mark is the one on top.
    for values, mark, colour in (
        (p95, m.second_point, colours.second),
        (p50, m.point, colours.first),
    ):
        points = [(float(day), value) for day, value in enumerate(values) if value is not None]
        if points:
            top = max(top, *(y for _, y in points))
            plt.plot([x for x, _ in points], [y for _, y in points], marker=mark, color=colour)
    title = f"Run time per day: median {m.point}, p95 {m.second_point}"
    if not top:
        return _empty(title, "No run times in these days.")
    _frame(plt, series, width, title)
    _y_axis(plt, y_ticks(top, seconds_label, seconds=True))
    return None


def draw_tokens(plt: Plot, series: Series, width: int, colours: Palette) -> str | None:
    """Input and output tokens per day, together."""
    tokens = [float(d.summary.tokens) for d in series.days]
    if not any(tokens):
        return _empty("Tokens per day (in + out)", "No run recorded tokens in these days.")
    _bars(plt, tokens, marks().bar, colours.second)
    _frame(plt, series, width, "Tokens per day (in + out)")
    _y_axis(plt, y_ticks(max(tokens, default=0.0), lambda v: fmt.count(int(v)), whole=True))
    return None


def draw_cost(plt: Plot, series: Series, width: int, colours: Palette) -> str | None:
    """What each day's runs cost (a day whose runs recorded no cost shows none)."""
    cost = [d.summary.cost_usd or 0.0 for d in series.days]
    if not any(cost):
        return _empty("Cost per day (US$)", "No run recorded a cost in these days.")
    _bars(plt, cost, marks().bar, colours.cost)
    _frame(plt, series, width, "Cost per day (US$)")
    _y_axis(plt, y_ticks(max(cost, default=0.0), money_label))
    return None


def drawer_for(figure: Figure, series: Series, colours: Palette) -> Drawer:
    """A drawer of ``figure`` for ``series`` (a :class:`DayPlot` gives it the plot and width)."""

    def drawer(plt: Plot, width: int) -> str | None:
        return figure(plt, series, width, colours)

    return drawer


class DayPlot(PlotextPlot):
    """A plotext plot drawn afresh, for its width, each time it renders."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: Draws the figure onto the cleared plot, or says why there is none (None: blank).
        self.drawer: Drawer | None = None

    def draw(self, drawer: Drawer | None) -> None:
        """Draw with ``drawer`` from now on."""
        self.drawer = drawer
        self.refresh()

    def render(self) -> RenderResult:
        """The figure, for the size the plot has now."""
        plt = self.plt
        plt.clear_figure()
        if self.drawer is None or self.size.width < 10 or self.size.height < 4:
            return Text("")
        note = self.drawer(plt, self.size.width)
        if note is not None:
            title, _, what = note.partition("\n\n")
            text = Text.assemble(title, "\n\n", (what, "dim"), justify="center")
            return Align.center(text, vertical="middle")
        return super().render()
