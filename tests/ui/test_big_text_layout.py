"""BigText keeps the wrapped layout of documents shown before, and grows without re-wrapping."""

from __future__ import annotations

from textual.app import App, ComposeResult

from bassi_tui.ui.big_text import BigText
from bassi_tui.ui.live_text import LiveText


class TextApp(App[None]):
    def compose(self) -> ComposeResult:
        yield BigText(id="text")


def lines(n: int, start: int = 0) -> str:
    return "".join(f"line {k}: " + "word " * (k % 13) + "\n" for k in range(start, start + n))


def fresh_layout(text: BigText) -> tuple[list[int], list[int]]:
    """The rows wrapping the shown document from scratch gives."""
    saved = text._row_line, text._row_start
    text._rewrap(0)
    fresh = list(text._row_line), list(text._row_start)
    text._row_line, text._row_start = saved
    return fresh


async def test_a_live_text_shown_again_is_laid_out_as_if_wrapped_afresh() -> None:
    app = TextApp()
    async with app.run_test(size=(40, 12)) as pilot:
        text = app.query_one(BigText)
        live, other = LiveText("run-1"), LiveText("run-2")
        other.append("something else\n")
        live.append(lines(50) + "a partial la")
        text.show(live, follow=True)
        await pilot.pause()
        live.append("st line\n" + lines(5, 50))
        text.document_grew()
        text.show(other)
        live.append(lines(30, 55))  # grows while another document is shown
        text.show(live, follow=True)
        await pilot.pause()
        assert (list(text._row_line), list(text._row_start)) == fresh_layout(text)
        assert text.virtual_size.height == len(text._row_line)
        assert "line 84:" in "\n".join(text.render_line(y).text for y in range(12))
        text.show(other)
        live.clear()  # a retry: the text starts over
        live.append(lines(3))
        text.show(live, follow=True)
        assert (list(text._row_line), list(text._row_start)) == fresh_layout(text)
        assert len(set(text._row_line)) == 3


async def test_growing_text_keeps_every_row_right() -> None:
    app = TextApp()
    async with app.run_test(size=(40, 12)) as pilot:
        text = app.query_one(BigText)
        live = LiveText("run-1")
        text.show(live, follow=True)
        for k in range(40):
            live.append(lines(3, 3 * k)[:-5])  # ends mid-line: the next chunk finishes it
            live.append(lines(3, 3 * k)[-5:])
            text.document_grew()
        await pilot.pause()
        assert (list(text._row_line), list(text._row_start)) == fresh_layout(text)
        assert text.virtual_size.height == len(text._row_line)
        assert text.scroll_y == text.max_scroll_y  # still following the end
