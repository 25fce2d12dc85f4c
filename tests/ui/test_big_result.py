"""Results of any size and content: the store's line reader and the viewer on top of it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.style import Style

from bassi_tui.scheduler.engine import Engine
from bassi_tui.store.result_text import LINE_CUT, ResultText, open_result_text
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText, wrap_starts
from bassi_tui.ui.live_text import LiveText
from bassi_tui.ui.log_pane import LogPane
from bassi_tui.ui.result_view import ResultView
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_until
from tests.ui.fixture_tasks import write_run

START = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def test_small_and_indexed_files_give_the_same_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_bytes("one\r\ntwo\n\nümlaut\nno newline at the end".encode())
    small = open_result_text(path)
    big = open_result_text(path, in_memory_limit=0)
    assert small.wrappable and not big.wrappable
    lines = ["one", "two", "", "ümlaut", "no newline at the end"]
    assert [small.line(i) for i in range(small.line_count)] == lines
    assert [big.line(i) for i in range(big.line_count)] == lines
    big.close()


def test_very_long_lines_are_cut(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("x" * (LINE_CUT * 5) + "\nshort\n")
    for doc in (open_result_text(path), open_result_text(path, in_memory_limit=0)):
        assert doc.line(0) == "x" * LINE_CUT + " …"
        assert doc.line(1) == "short"


def test_wrap_starts_breaks_at_spaces_then_hard() -> None:
    assert wrap_starts("short", 10) == [0]
    assert wrap_starts("aaaa bbbb cccc", 9) == [0, 10]
    assert wrap_starts("x" * 25, 10) == [0, 10, 20]
    assert wrap_starts("漢字" * 5, 4) == [0, 2, 4, 6, 8]


def test_live_text_splits_chunks_into_lines() -> None:
    live = LiveText("run")
    for chunk in ("he", "llo\nwor", "ld\n", "\nlast"):
        live.append(chunk)
    assert [live.line(i) for i in range(live.line_count)] == ["hello", "world", "", "last"]
    live.clear()
    assert live.line_count == 0


async def test_escape_sequences_and_markup_show_literally(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "hostile")
    write_run(folder, START, "\x1b[31mred\x1b[0m and [bold]x[/bold]\x1b]0;title\x07\n")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    async with app.run_test(size=(120, 36)) as pilot:
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: text.document is not None, "the result")
        assert text_of(text).splitlines()[0] == "red and [bold]x[/bold]"
        strip = text.render_line(0)
        styles = {segment.style for segment in strip if segment.text.strip()}
        assert styles == {text.rich_style}  # the widget's own style: no colour, no bold
        assert all(isinstance(s, Style) and not s.bold for s in styles)


async def test_a_50_mb_result_opens_and_the_app_stays_responsive(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "huge")
    output = write_run(folder, START, "")
    line = "the quick brown fox jumps over the lazy dog " * 2 + "\n"
    with output.open("w") as handle:
        handle.write("first line of a huge result\n")
        handle.write(line * (50 * 1024 * 1024 // len(line)))
        handle.write("y" * 200_000 + "\n")  # one absurdly long line, cut when shown
        handle.write("the end\n")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False), show_log=True)
    async with app.run_test(size=(120, 36)) as pilot:
        text = app.query_one(BigText)
        await wait_until(pilot, lambda: text.document is not None, "the huge result")
        assert text_of(text).splitlines()[0] == "first line of a huge result"
        document = text.document
        assert isinstance(document, ResultText)  # shown after its first megabyte is indexed
        await wait_until(
            pilot,
            lambda: document.complete and text.virtual_size.height == document.line_count,
            "the rest of the index, shown",
        )
        assert text.document is document and document.line_count > 500_000
        assert not text.wrapping  # too big to re-wrap on every resize: scrolls sideways
        await pilot.press("l")  # a key is handled
        assert not app.query_one(LogPane).display
        await pilot.press("enter", "end")
        await wait_until(pilot, lambda: "the end" in text_of(text), "the last line")
        assert app.query_one(ResultView).records[0].stem == "2026-03-02_07-30-00"


def test_a_progressive_open_reaches_every_line(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    expected = [f"line {n}: " + "x" * (n % 97) for n in range(60_000)] + ["no newline"]
    path.write_text("\n".join(expected))
    whole = open_result_text(path, in_memory_limit=0)
    doc = open_result_text(path, in_memory_limit=0, first_bytes=64 * 1024)
    assert not doc.complete and 0 < doc.line_count < len(expected)
    assert doc.line(doc.line_count - 1) == expected[doc.line_count - 1]  # whole lines only
    counts = [doc.line_count]
    while not doc.index_more(budget=300 * 1024):
        counts.append(doc.line_count)
    assert counts == sorted(counts) and len(counts) > 3
    assert doc.complete and doc.line_count == whole.line_count == len(expected)
    assert [doc.line(i) for i in range(doc.line_count)] == expected
    assert doc.max_width == whole.max_width == max(map(len, expected)) + 1  # with its newline
    doc.close()
    whole.close()


def test_a_file_whose_first_line_is_longer_than_the_first_part_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "one-long-line.txt"
    path.write_text("y" * 200_000 + "\nsecond\n")
    doc = open_result_text(path, in_memory_limit=0, first_bytes=1024)
    assert doc.line_count >= 1 and doc.line(0) == "y" * LINE_CUT + " …"
    while not doc.index_more(budget=1024):
        pass
    assert doc.line_count == 2 and doc.line(1) == "second"
    doc.close()
