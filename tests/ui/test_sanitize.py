"""strip_control: model output reaches the screen as inert text."""

from __future__ import annotations

import pytest

from bassi_tui.ui.sanitize import one_line, strip_control


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text\twith a tab\n", "plain text\twith a tab\n"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[1;38;2;255;0;0mtruecolor\x1b[m", "truecolor"),
        ("\x1b[2J\x1b[Hcleared", "cleared"),
        ("\x1b[?1049hscreen", "screen"),
        ("\x1b]0;evil title\x07after", "after"),
        ("\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bPdcs payload\x1b\\ok", "ok"),
        ("\x1b_apc\x1b\\ok", "ok"),
        ("\x1b(Bcharset", "charset"),
        ("\x1bcreset", "reset"),
        ("\x9b31mc1 csi", "c1 csi"),
        ("\x9d0;t\x9cc1 osc", "c1 osc"),
        ("bell\x07 back\x08 cr\r nul\x00 del\x7f c1\x85", "bell back cr nul del c1"),
        ("unterminated osc \x1b]0;title", "unterminated osc "),
        ("lone escape \x1b", "lone escape "),
        ("[bold]x[/bold] stays literal", "[bold]x[/bold] stays literal"),
        ("émoji ✓ and 漢字", "émoji ✓ and 漢字"),
    ],
)
def test_strip_control(raw: str, shown: str) -> None:
    assert strip_control(raw) == shown


def test_nothing_to_strip_returns_the_same_string() -> None:
    text = "a long clean line " * 100
    assert strip_control(text) is text


def test_one_line_flattens_newlines_and_tabs() -> None:
    assert one_line("a\nb\tc\x1b[1m") == "a b c"
