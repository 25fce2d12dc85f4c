"""Reading output as in less: the end is reachable, live text is followed, search, the log pane.

What a person sees is read from the screen Textual painted (its compositor), not only from what
a widget would draw now: the bug where ``G`` never showed the last row was a stale paint.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.pilot import Pilot
from textual.worker import Worker

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import LogLine
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.big_text import BigText, wrap_starts
from bassi_tui.ui.live_text import LiveText
from bassi_tui.ui.log_pane import LogPane
from bassi_tui.ui.pager import Pager
from bassi_tui.ui.search import (
    LineSource,
    SearchPrompt,
    compile_query,
    find_matches,
    step,
)
from bassi_tui.ui.searchable import SearchablePager
from bassi_tui.ui.task_list import TaskList
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_until
from tests.ui.fixture_tasks import write_run

START = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
SIZE = (120, 36)


def painted(app: App[Any]) -> str:
    """The screen as last painted (a widget not repainted shows its old rows here)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def numbered(count: int) -> str:
    """``count`` lines of growing length: many wrap, some end in a space at the width."""
    return "".join(f"row {k}: " + "word " * (k % 30) + f"end{k}\n" for k in range(count))


def status_of(pager: Pager) -> str:
    """What the pager's status row says ("" when it has none)."""
    return "".join(text for text, _ in pager.status_parts())


async def app_with_result(tasks_dir: Path, text: str) -> BassiApp:
    folder = make_task(tasks_dir, "long")
    write_run(folder, START, text)
    return BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False), show_log=False)


async def opened(pilot: Pilot[None]) -> BigText:
    """Wait for the result, then put the keyboard on it."""
    text = pilot.app.query_one(BigText)
    await wait_until(pilot, lambda: text.document is not None, "the result")
    text.focus()
    await pilot.pause()
    return text


# -- the end is reachable ---------------------------------------------------------------------


async def test_G_shows_the_last_row_of_2000_wrapped_lines(tasks_dir: Path) -> None:
    app = await app_with_result(tasks_dir, numbered(2000))
    async with app.run_test(size=SIZE) as pilot:
        text = await opened(pilot)
        assert text.wrapping and text.virtual_size.height > 2000  # long lines wrapped
        await pilot.press("G")
        await pilot.pause()
        assert text.scroll_offset.y == text.max_scroll_y
        # The last line wraps; its last row (with "end1999") is on the painted screen.
        assert "end1999" in painted(app)
        await pilot.press("g")
        await pilot.pause()
        assert "row 0: end0" in painted(app)


async def test_a_scroll_ending_on_a_fraction_paints_the_rows_it_ends_on(tasks_dir: Path) -> None:
    # An animated scroll (PgDn, the mouse wheel) goes through fractions: 3601.6, then 3602.
    # Textual repaints only when the rounded position changes; rows must be picked the same way.
    app = await app_with_result(tasks_dir, numbered(2000))
    async with app.run_test(size=SIZE) as pilot:
        text = await opened(pilot)
        end = text.max_scroll_y
        text.scroll_y = end - 0.4
        await pilot.pause()
        text.scroll_y = end
        await pilot.pause()
        assert "end1999" in painted(app)


def test_spaces_at_the_end_of_a_line_make_no_blank_row() -> None:
    assert wrap_starts("aaaa bbbb ", 9) == [0]
    assert wrap_starts("aaaa bbbb cccc ", 9) == [0, 10]
    assert wrap_starts("aaaa bbbb    ", 9) == [0]
    assert wrap_starts("ümlaut ümlaut ", 13) == [0]


# -- following a running task's output --------------------------------------------------------


class TextApp(App[None]):
    def compose(self) -> ComposeResult:
        yield BigText(id="text")


def grow(text: BigText, live: LiveText, start: int, count: int) -> None:
    live.append("".join(f"live {k}\n" for k in range(start, start + count)))
    text.document_grew()


async def test_live_output_follows_its_end_until_the_person_scrolls_away() -> None:
    app = TextApp()
    async with app.run_test(size=(60, 12)) as pilot:
        text = app.query_one(BigText)
        live = LiveText("run-1")
        text.show(live, follow=True)
        text.focus()
        grow(text, live, 0, 40)
        await pilot.pause()
        assert "live 39" in painted(app)
        await pilot.press("k", "k", "k")  # away from the end: the view stays where it is
        await pilot.pause()
        top = text.top_line()
        grow(text, live, 40, 5)
        await pilot.pause()
        assert text.top_line() == top
        assert "live 44" not in painted(app)
        assert "↓ 5 new lines below · G follows" in painted(app)
        grow(text, live, 45, 2)
        await pilot.pause()
        assert "↓ 7 new lines below" in painted(app)
        await pilot.press("G")  # back to the end: following again
        await pilot.pause()
        assert "live 46" in painted(app)
        assert "new lines below" not in painted(app)
        grow(text, live, 47, 3)
        await pilot.pause()
        assert "live 49" in painted(app)
        assert "new lines below" not in status_of(text)


async def test_scrolling_back_to_the_end_follows_again() -> None:
    app = TextApp()
    async with app.run_test(size=(60, 12)) as pilot:
        text = app.query_one(BigText)
        live = LiveText("run-1")
        text.show(live, follow=True)
        text.focus()
        grow(text, live, 0, 40)
        await pilot.press("k")
        grow(text, live, 40, 1)
        await pilot.pause()
        assert "new line below" in status_of(text)
        await pilot.press("end")
        await pilot.pause()
        assert status_of(text) == ""
        await pilot.press("k")
        await pilot.press("j", "j", "j")  # j back down to the end
        await pilot.pause()
        grow(text, live, 41, 1)
        await pilot.pause()
        assert "live 41" in painted(app)


# -- re-wrapping ------------------------------------------------------------------------------


async def test_text_rewraps_on_resize_keeping_the_top_line(tasks_dir: Path) -> None:
    app = await app_with_result(tasks_dir, numbered(300))
    async with app.run_test(size=SIZE) as pilot:
        text = await opened(pilot)
        text.scroll_to(y=200, animate=False)
        await pilot.pause()
        top = text.top_line()
        for size in ((100, 36), (80, 30)):  # narrower; then stacked, wider than at first
            await pilot.resize_terminal(*size)
            await pilot.pause()
            width = text.scrollable_content_region.width
            assert text._wrap_width == width
            rows = sum(len(wrap_starts(f"{line}", width)) for line in numbered(300).splitlines())
            assert text.virtual_size.height == rows
            assert all(len(line) <= width for line in text_of(text).splitlines())
            assert text.top_line() == top
        await pilot.press("w")  # wrap off: one row per line, the same line at the top
        await pilot.pause()
        assert not text.wrapping and text.virtual_size.height == 300
        assert text.top_line() == top
        await pilot.press("w")
        await pilot.pause()
        assert text.wrapping and text.top_line() == top


# -- search -----------------------------------------------------------------------------------

HAYSTACK = "".join(
    f"line {k}: " + ("a NEEDLE here\n" if k in (5, 60, 61) else "hay\n") for k in range(100)
)


async def search_for(pilot: Pilot[None], query: str) -> None:
    await pilot.press("slash")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SearchPrompt), "the prompt")
    await pilot.press(*query, "enter")
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, SearchPrompt), "closed")


async def test_slash_searches_the_result_and_n_N_step_through_matches(tasks_dir: Path) -> None:
    app = await app_with_result(tasks_dir, HAYSTACK)
    finished: list[SearchablePager.SearchFinished] = []

    def hook(message: Message) -> None:
        if isinstance(message, SearchablePager.SearchFinished):
            finished.append(message)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        text = await opened(pilot)
        text.scroll_to(y=30, animate=False)  # below the first match
        await pilot.pause()
        await search_for(pilot, "needle")  # smart case: lower case finds NEEDLE
        await wait_until(pilot, lambda: bool(finished), "the search")
        assert finished[0].matches is not None and finished[0].matches.total == 3
        # The first match at or after the top line, on screen, highlighted.
        assert "“needle” 2 of 3" in status_of(text)
        assert "line 60: a NEEDLE here" in painted(app)
        row = text_of(text).splitlines().index("line 60: a NEEDLE here")
        current = text.rich_style + text.get_component_rich_style("pager--current")
        assert [s.style for s in text.render_line(row) if s.text == "NEEDLE"] == [current]
        other = text.rich_style + text.get_component_rich_style("pager--match")
        row = text_of(text).splitlines().index("line 61: a NEEDLE here")
        assert [s.style for s in text.render_line(row) if s.text == "NEEDLE"] == [other]
        await pilot.press("n")
        assert "3 of 3" in status_of(text)
        await pilot.press("n")  # past the last: wraps to the first
        assert "1 of 3 (wrapped)" in status_of(text)
        assert "line 5: a NEEDLE here" in painted(app)
        await pilot.press("N")
        assert "3 of 3 (wrapped)" in status_of(text)
        await pilot.press("escape")  # clears the search, the keyboard stays on the text
        assert status_of(text) == "" and text.has_focus
        await pilot.press("escape")  # nothing to clear: back to the cards, as everywhere
        assert app.query_one(TaskList).has_focus


async def test_no_match_is_said_and_esc_closes_the_prompt(tasks_dir: Path) -> None:
    app = await app_with_result(tasks_dir, HAYSTACK)
    async with app.run_test(size=SIZE) as pilot:
        text = await opened(pilot)
        await search_for(pilot, "Needle")  # a capital: case matters now
        await wait_until(pilot, lambda: "no match" in status_of(text), "the search")
        assert "no match for “Needle”" in painted(app)
        await pilot.press("slash")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchPrompt), "the prompt")
        await pilot.press("escape")
        assert not isinstance(app.screen, SearchPrompt) and text.has_focus


async def test_slash_on_the_cards_is_still_the_filter(tasks_dir: Path) -> None:
    app = await app_with_result(tasks_dir, HAYSTACK)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.query_one(BigText).document is not None, "result")
        assert app.query_one(TaskList).has_focus
        await pilot.press("slash")
        assert not isinstance(app.screen, SearchPrompt)
        assert app.focused is not None and app.focused.id == "filter"


async def test_a_search_through_a_big_result_runs_in_a_thread(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "big")
    output = write_run(folder, START, "")
    line = "the quick brown fox jumps over the lazy dog\n"
    with output.open("w") as handle:  # past the in-memory limit: read by an index
        handle.write(line * (5 * 1024 * 1024 // len(line)))
        handle.write("the needle at the end\n")
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False), show_log=False)
    searches: list[Worker[Any]] = []

    def hook(message: Message) -> None:
        if isinstance(message, Worker.StateChanged) and message.worker.group == "search":
            searches.append(message.worker)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        text = await opened(pilot)
        await search_for(pilot, "needle")
        await wait_until(pilot, lambda: "1 of 1" in status_of(text), "the search", timeout=60)
        assert searches and all(w._thread_worker for w in searches)  # never on the loop
        assert "the needle at the end" in painted(app)


async def test_n_after_the_text_grew_searches_it_again() -> None:
    app = TextApp()
    async with app.run_test(size=(60, 12)) as pilot:
        text = app.query_one(BigText)
        live = LiveText("run-1")
        text.show(live, follow=True)
        text.focus()
        live.append("error one\n" + "ok\n" * 30)
        text.document_grew()
        text.search("error")
        await wait_until(pilot, lambda: "1 of 1" in status_of(text), "the search")
        live.append("error two\n")
        text.document_grew()
        assert "1 of 1+" in status_of(text)  # more text than was searched
        await pilot.press("n")
        await wait_until(pilot, lambda: "2 of 2" in status_of(text), "the search again")
        assert "error two" in painted(app)


def test_matches_and_steps() -> None:
    lines = ["a x", "b", "x x", "", "X"]
    pattern = compile_query("x")
    assert pattern is not None and compile_query("") is None
    found = find_matches(LineSource(lines.__getitem__, 0, len(lines)), pattern)
    assert found is not None
    assert list(found.lines) == [0, 2, 4] and found.total == 4

    def starts(key: int) -> list[int]:
        return [m.start() for m in pattern.finditer(lines[key])]

    assert step(found, starts, None, 1, True) == ((2, 0), False)
    assert step(found, starts, (2, 0), 0, True) == ((2, 2), False)
    assert step(found, starts, (4, 0), 0, True) == ((0, 2), True)
    assert step(found, starts, (0, 2), 0, False) == ((4, 0), True)
    assert step(found, starts, None, 3, False) == ((2, 2), False)
    assert find_matches(LineSource(lines.__getitem__, 0, 5), pattern, lambda: True) is None


# -- the log pane -----------------------------------------------------------------------------


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPane(id="log")


async def test_the_log_pane_reads_like_less_when_focused() -> None:
    app = LogApp()
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(LogPane)
        pane.add_many(LogLine("info", f"event {n}", time=START) for n in range(100))
        pane.focus()
        await pilot.pause()
        assert "event 99" in painted(app)  # it follows the end
        await pilot.press("g")
        assert pane.top_line() == 0
        await pilot.press("j", "j")
        assert pane.top_line() == 2
        await pilot.press("k")
        assert pane.top_line() == 1
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.top_line() > 5
        pane.add(LogLine("info", "while away", time=START))
        await pilot.pause()
        assert "↓ 1 new line below" in painted(app)
        await pilot.press("G")
        await pilot.pause()
        assert "while away" in painted(app)
        await search_for(pilot, "event 4")  # no match below the top: wraps to the first
        await wait_until(pilot, lambda: "of 11" in status_of(pane), "the search")
        assert "“event 4” 1 of 11 (wrapped)" in painted(app)
        assert pane.top_line() <= 4 < pane.top_line() + pane.text_height
        await pilot.press("n")
        assert "2 of 11" in status_of(pane)
        assert "event 40" in painted(app)


async def test_log_times_carry_their_zone_once_in_the_title() -> None:
    app = LogApp()
    cet = timezone(timedelta(hours=1), "CET")
    cest = timezone(timedelta(hours=2), "CEST")
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(LogPane)
        pane.add(LogLine("info", "winter", time=datetime(2026, 3, 29, 1, 59, 30, tzinfo=cet)))
        await pilot.pause()
        assert pane.border_title == "Log · times in CET"
        assert "01:59:30   winter" in painted(app)
        # Summer time begins: every line is drawn in the zone the title names.
        pane.add(LogLine("info", "summer", time=datetime(2026, 3, 29, 3, 0, 5, tzinfo=cest)))
        await pilot.pause()
        assert pane.border_title == "Log · times in CEST"
        shown = painted(app)
        assert "02:59:30   winter" in shown and "03:00:05   summer" in shown


def test_every_reading_binding_has_an_id_and_a_description() -> None:
    keys = set()
    for owner in (BigText, LogPane, SearchPrompt):
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding), owner
            assert binding.id and binding.description, (owner, binding.key)
            keys.add(binding.key)
    assert {"home,g", "end,G", "j", "k", "slash", "n", "N", "escape"} <= keys


async def test_the_finished_file_replacing_followed_output_stays_at_its_end() -> None:
    app = TextApp()
    async with app.run_test(size=(60, 12)) as pilot:
        text = app.query_one(BigText)
        live = LiveText("run-1")
        text.show(live, follow=True)
        grow(text, live, 0, 40)
        finished = LiveText("the file")  # the run's file: one line the live view had not yet
        finished.append("".join(f"live {k}\n" for k in range(41)))
        text.show(finished, keep_scroll=True)
        await pilot.pause()
        assert "live 40" in painted(app)
