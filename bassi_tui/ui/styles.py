"""Theme styles for Line API widgets: a component's colour and text style, minus its background."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


def ink(widget: Widget, component: str) -> Style:
    """The foreground of ``component`` (theme colours resolved and blended), with no background.

    Dropping the background lets a cursor row's background show through coloured text; the
    ``partial`` styles Textual offers would keep a colour's alpha unblended (muted text turns
    bright white on some terminals).
    """
    full = widget.get_component_rich_style(component)
    return Style(
        color=full.color,
        bold=full.bold,
        dim=full.dim,
        italic=full.italic,
        underline=full.underline,
        strike=full.strike,
        reverse=full.reverse,
    )
