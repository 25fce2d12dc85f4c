"""Cards for a daily driver over SSH: order, status filter, compact cards, cuts that say so,
empty states that teach, a missing API key, skipped fires in the history, a plain palette,
ASCII without a UTF-8 locale and statuses that stay apart in 16 colours."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.color import ColorSystem
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.color import Color

from bassi_tui.commands import check_command
from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import TaskView
from bassi_tui.scheduler.views import KEY_MISSING_NOTE, KEY_MISSING_WARNING, task_view
from bassi_tui.store.models import TaskProblem
from bassi_tui.store.parse import load_task
from bassi_tui.store.records import HistoryEntry, RunRecord, TaskState
from bassi_tui.store.state import write_state
from bassi_tui.ui import format as fmt
from bassi_tui.ui.app import BassiApp
from bassi_tui.ui.card import CardLine, card_lines, fit_line, problem_text
from bassi_tui.ui.commands import task_commands
from bassi_tui.ui.log_pane import LogPane
from bassi_tui.ui.result_view import ResultView
from bassi_tui.ui.run_history import RunHistory, not_run_records, run_summary, with_not_runs
from bassi_tui.ui.styles import AsciiFilter, Look, ascii_text, utf8_locale
from bassi_tui.ui.task_list import ORDERS, TaskList
from tests.helpers import make_task
from tests.ui.conftest import text_of, wait_started, wait_until
from tests.ui.fixture_tasks import write_run

NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def view(name: str, **changes: object) -> TaskView:
    base = TaskView(
        name=name,
        path=Path(f"/tasks/{name}"),
        description="every hour",
        enabled=True,
        next_run=NOW + timedelta(minutes=30),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ran(name: str, status: str, minutes_ago: int = 5, **changes: object) -> TaskView:
    return view(
        name,
        last_run=NOW - timedelta(minutes=minutes_ago),
        last_status=status,
        run_count=1,
        success_count=int(status == "success"),
        failure_count=int(status != "success"),
        **changes,
    )


BROKEN = view(
    "broken",
    problems=(TaskProblem("broken", "schedule.yaml", 3, "unknown key 'tiem' " * 8),),
    enabled=False,
    next_run=None,
)
CARDS = [
    ran("alpha", "success", next_run=NOW + timedelta(hours=3)),
    ran("bravo", "failed", last_error="API error 529 " * 10, next_run=NOW + timedelta(hours=1)),
    view("charlie", next_run=NOW + timedelta(minutes=2)),
    ran("delta", "timeout", enabled=False, next_run=None),
    ran("echo", "success", running_since=NOW - timedelta(seconds=20)),
    BROKEN,
]


@pytest.fixture
def ascii_mode() -> object:
    fmt.use_ascii(True)
    yield
    fmt.use_ascii(False)


# -- cut text ends in the ellipsis ------------------------------------------------------------


def texts(pieces: list[tuple[str, str]]) -> str:
    return "".join(text for text, _ in pieces)


@pytest.mark.parametrize("width", [10, 20, 31, 40, 58, 76])
@pytest.mark.parametrize("compact", [False, True])
def test_every_card_line_fits_and_a_cut_ends_in_the_ellipsis(width: int, compact: bool) -> None:
    for card in CARDS:
        for line in card_lines(card, NOW, width, compact=compact):
            whole = texts(list(line.left)) + texts(list(line.right))
            fitted = fit_line(line, width)
            assert cell_len(texts(fitted)) == width, (card.name, fitted)
            kept = [text.rstrip("…").rstrip(" ") for text, _ in fitted if text.strip()]
            if all(k in whole for k in kept) and cell_len(whole) + bool(line.right) <= width:
                continue  # nothing was cut
            assert "…" in texts(fitted), (card.name, width, fitted)


def test_a_long_right_side_is_cut_too_not_dropped_at_the_edge() -> None:
    line = CardLine(
        (("✓ daily-digest", "name"),), (("in 21h 15m", "plain"), (" · Tue 07:30", "muted"))
    )
    fitted = fit_line(line, 20)
    assert texts(fitted).endswith("…") and cell_len(texts(fitted)) == 20
    assert texts(fitted).startswith("✓ daily-digest"[:11])  # the name keeps its cells


def test_a_wide_character_is_never_split_by_a_cut() -> None:
    line = CardLine((("  " + "日本語のエラー" * 6, "error"),))
    for width in range(5, 30):
        fitted = texts(fit_line(line, width))
        assert cell_len(fitted) == width and fitted.rstrip().endswith("…")


def test_ascii_cuts_end_in_three_dots(ascii_mode: object) -> None:
    bravo = CARDS[1]
    head, *_ = card_lines(bravo, NOW, 40)
    last = card_lines(bravo, NOW, 40)[2]
    assert " 5m 00s..." in texts(fit_line(last, 40))  # "5m 00s ago · API error..." cut
    assert texts(fit_line(head, 40)).isascii() and texts(fit_line(last, 40)).isascii()


# -- compact cards and empty folders ----------------------------------------------------------


def test_a_compact_card_is_two_lines_with_the_last_run_and_what_is_wrong() -> None:
    bravo = CARDS[1]
    head, second = card_lines(bravo, NOW, 72, compact=True)
    assert texts(list(head.left)) == "✗ bravo"
    assert texts(list(second.left)).startswith("  API error 529")
    assert texts(list(second.right)) == "✗ failed 5m 00s ago"
    alpha_second = card_lines(CARDS[0], NOW, 72, compact=True)[1]
    assert texts(list(alpha_second.left)) == "  every hour"
    assert len(card_lines(BROKEN, NOW, 72, compact=True)) == 2


def test_an_empty_task_folder_names_its_missing_files_uncut(tasks_dir: Path) -> None:
    (tasks_dir / "new-task").mkdir()
    task = load_task(tasks_dir / "new-task")
    empty = view("new-task", problems=task.problems, enabled=False, next_run=None)
    assert problem_text(empty) == "missing schedule.yaml and prompt.txt"
    aside = [
        replace(p, message=p.message + " (template 'bare' has none either)") for p in task.problems
    ]
    assert problem_text(replace(empty, problems=tuple(aside))) == (
        "missing schedule.yaml and prompt.txt (template 'bare' has none either)"
    )
    for compact in (False, True):
        line = card_lines(empty, NOW, 74, compact=compact)[1]
        assert texts(fit_line(line, 74)).strip() == "missing schedule.yaml and prompt.txt"


# -- the key ------------------------------------------------------------------------------------


def test_an_api_task_without_a_key_says_so_on_its_card(
    tasks_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_task(tasks_dir, "asks", config="executor: anthropic\n")
    echo = make_task(tasks_dir, "echoes")

    def seen(folder: Path) -> TaskView:
        task = load_task(folder)
        return task_view(task, TaskState(task.name), next_run=None, running_since=None, now=NOW)

    no_key = seen(folder)
    assert no_key.note == KEY_MISSING_NOTE and "restart" in KEY_MISSING_NOTE
    assert KEY_MISSING_NOTE in texts(fit_line(card_lines(no_key, NOW, 72)[1], 72))
    narrow = texts(fit_line(card_lines(no_key, NOW, 46)[1], 46))  # the cards at 120 columns
    assert narrow.strip() == KEY_MISSING_NOTE  # the schedule makes way, the note stays whole
    assert KEY_MISSING_NOTE in texts(fit_line(card_lines(no_key, NOW, 72, compact=True)[1], 72))
    plain = task_view(
        load_task(echo), TaskState("echoes"), next_run=None, running_since=None, now=NOW
    )
    assert plain.note is None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    keyed = task_view(
        load_task(folder), TaskState("asks"), next_run=None, running_since=None, now=NOW
    )
    assert keyed.note is None


def test_check_warns_of_a_missing_key_without_failing(
    tasks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_task(tasks_dir, "asks", config="executor: agent\n")
    make_task(tasks_dir, "echoes")
    assert check_command(tasks_dir) == 0
    out = capsys.readouterr().out
    asks = next(line for line in out.splitlines() if "asks" in line)
    echoes = next(line for line in out.splitlines() if "echoes" in line)
    assert f"(warning: {KEY_MISSING_WARNING})" in asks and "restart" in asks
    assert "warning" not in echoes


# -- the palette ------------------------------------------------------------------------------


class Actions:
    def __init__(self, views: list[TaskView]) -> None:
        self.views = {v.name: v for v in views}

    def task_names(self) -> list[str]:
        return sorted(self.views)

    def task_enabled(self, name: str) -> bool:
        return self.views[name].enabled

    def run_task(self, name: str) -> None: ...

    def toggle_task(self, name: str) -> None: ...

    def edit_task(self, name: str) -> None: ...

    def select_task(self, name: str) -> None: ...


def test_the_palette_offers_only_what_can_be_done() -> None:
    actions = Actions([CARDS[0], CARDS[3], BROKEN])
    commands = list(task_commands(actions, actions.views.get))
    titles = [title for title, _, _ in commands]
    assert "Pause alpha" in titles and "Resume alpha" not in titles
    assert "Resume delta" in titles and "Pause delta" not in titles
    assert [t for t in titles if "broken" in t] == ["Edit the prompt of broken", "Show broken"]
    helps = " ".join(help_text for _, _, help_text in commands)
    assert "Edit enabled:" not in helps  # plain words, not the file's syntax first


# -- skipped and missed fires -----------------------------------------------------------------


def test_skipped_and_missed_fires_join_the_runs_below_the_run_before(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    history = (
        HistoryEntry(NOW - timedelta(minutes=1), "skipped", error="previous run still in progress"),
        HistoryEntry(NOW - timedelta(minutes=5), "success", 3.0),
        HistoryEntry(NOW - timedelta(hours=9), "missed", error="3 fires missed"),
    )
    not_runs = not_run_records("t", folder, history)
    assert [r.status for r in not_runs] == ["skipped", "missed"]
    run = RunRecord(
        meta_file=folder / "results" / "run.json",
        output_file=folder / "results" / "run.txt",
        task_name="t",
        status="success",
        start=NOW - timedelta(minutes=5),
    )
    merged = with_not_runs([run], not_runs)
    assert [r.status for r in merged] == ["success", "skipped", "missed"]  # a skip: below its run
    assert with_not_runs(merged, not_runs) == merged  # not twice
    line = "".join(text for text, _ in run_summary(not_runs[0], NOW))
    assert line.startswith("↷ skipped") and "previous run still in progress" in line


async def test_the_history_shows_skipped_fires_from_last_run_json(tasks_dir: Path) -> None:
    folder = make_task(tasks_dir, "busy")
    start = datetime.now(UTC) - timedelta(minutes=10)
    write_run(folder, start, "done\n")
    state = TaskState("busy").with_run(
        timestamp=start, status="success", duration=3.2, result_file=None, error=None, next_run=None
    )
    state = state.with_run(
        timestamp=start + timedelta(minutes=1),
        status="skipped",
        duration=0.0,
        result_file=None,
        error="previous run still in progress",
        next_run=None,
    )
    write_state(folder, state)
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False), show_log=False)
    async with app.run_test(size=(120, 36)) as pilot:
        viewer = app.query_one(ResultView)
        await wait_until(pilot, lambda: len(viewer.records) == 2, "the run and the skip")
        assert [r.status for r in viewer.records] == ["success", "skipped"]
        history = app.query_one(RunHistory)
        await wait_until(pilot, lambda: "↷ skipped" in text_of(history), "the skip's line")
        assert "previous run still" in text_of(history).splitlines()[1]
        assert text_of(history).startswith("▶✓ success")  # the newest run stays shown


# -- order and filter ---------------------------------------------------------------------------


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TaskList(lambda: NOW, id="cards")


async def test_the_order_cycles_name_next_run_failures_first() -> None:
    app = ListApp()
    async with app.run_test(size=(80, 60)):
        cards = app.query_one(TaskList)
        cards.upsert_many(CARDS)
        assert cards.order == "name"
        assert cards.shown == ["alpha", "bravo", "broken", "charlie", "delta", "echo"]
        assert cards.cycle_order() == "next run"
        assert cards.shown == ["charlie", "echo", "bravo", "alpha", "broken", "delta"]
        assert cards.cycle_order() == "last status"
        assert cards.shown[:3] == ["bravo", "broken", "delta"]  # failed, broken, timeout
        assert cards.shown[-1] == "charlie"  # never run
        assert cards.cycle_order() == ORDERS[0]


async def test_the_filter_matches_a_status_and_keeps_the_selected_card() -> None:
    app = ListApp()
    async with app.run_test(size=(80, 60)) as pilot:
        cards = app.query_one(TaskList)
        cards.upsert_many(CARDS)
        cards.set_filter("failed")
        assert cards.shown == ["bravo", "delta"]  # a timeout is a failure too
        assert cards.selected == "bravo"
        cards.set_filter("running")
        assert cards.shown == ["echo"]
        cards.set_filter("paused")
        assert cards.shown == ["delta"]  # broken is not paused: it cannot run
        cards.set_filter("broken")
        assert cards.shown == ["broken"]
        cards.set_filter("Failed")
        cards.select("bravo")
        cards.upsert(ran("bravo", "success"))  # rerun, and it worked: still shown, selected
        await pilot.pause()
        assert cards.shown == ["bravo", "delta"]
        cards.action_move(1)
        assert cards.shown == ["delta"]  # moved off: it goes


# -- the app at 80x24 -----------------------------------------------------------------------


def fixture_app(tasks_dir: Path, **kwargs: object) -> BassiApp:
    make_task(tasks_dir, "alpha")
    make_task(tasks_dir, "bravo", schedule="type: daily\ntime: '03:00'\nenabled: false\n")
    make_task(tasks_dir, "charlie", schedule="type: dailyy\n")
    return BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False), **kwargs)  # type: ignore[arg-type]


async def test_at_80x24_compact_cards_show_more_than_one_and_a_half_tasks(tasks_dir: Path) -> None:
    app = fixture_app(tasks_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == 3, "the cards")
        await pilot.pause()
        assert cards.is_compact
        heads = [line for line in text_of(cards).splitlines() if line.startswith(("▌ ", "▏ "))]
        shown = [line for line in heads if any(n in line for n in ("alpha", "bravo", "charlie"))]
        assert len(shown) >= 2
        assert cards.size.height / 3 > 1.5  # three rows a card
        await pilot.resize_terminal(120, 40)
        assert not cards.is_compact and "every hour" in text_of(cards)


async def test_s_cycles_the_order_and_the_title_says_which(tasks_dir: Path) -> None:
    app = fixture_app(tasks_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == 3, "the cards")
        await pilot.press("s")
        assert cards.order == "next run"
        assert "by next run" in str(app.query_one("#cards-pane").border_title)
        await pilot.press("s")
        assert cards.shown[0] == "charlie"  # broken comes first
        assert "failures first" in str(app.query_one("#cards-pane").border_title)


async def test_slash_filters_by_status(tasks_dir: Path) -> None:
    app = fixture_app(tasks_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == 3, "the cards")
        await pilot.press("slash", *"paused")
        await wait_until(pilot, lambda: cards.shown == ["bravo"], "the paused task only")
        assert "1 of 3" in str(app.query_one("#cards-pane").border_title)


async def test_l_shows_the_log_at_any_size_and_a_resize_keeps_it(tasks_dir: Path) -> None:
    app = fixture_app(tasks_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(LogPane)
        assert not log.display  # short: hidden at first
        await pilot.resize_terminal(120, 40)
        assert log.display  # tall: shown, while nobody said otherwise
        await pilot.press("l")
        assert not log.display
        await pilot.resize_terminal(200, 60)
        assert not log.display  # hidden by hand: kept
        await pilot.resize_terminal(80, 24)
        await pilot.press("l")
        assert log.display and log.size.height > 2
        await pilot.resize_terminal(80, 20)
        assert log.display  # shown by hand: kept


async def test_no_task_folders_says_how_to_make_one(tasks_dir: Path) -> None:
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_started(app)
        await pilot.pause()
        text = text_of(app.query_one(TaskList))
        for needed in ("schedule.yaml", "prompt.txt", "config.yaml", "--demo", "mkdir"):
            assert needed in text, needed
        assert "…" not in text


# -- no UTF-8, 16 colours ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "initial", "utf8"),
    [
        ({"LANG": "en_US.UTF-8"}, None, True),
        ({"LANG": "de_DE.utf8"}, None, True),
        ({"LANG": "C"}, None, False),
        ({}, None, False),
        ({"LANG": "en_US"}, None, False),  # Latin-1
        ({"LC_ALL": "C", "LANG": "en_US.UTF-8"}, None, False),
        ({"LC_CTYPE": "C.UTF-8", "LANG": "C"}, {"LANG": "C"}, False),  # Python's coercion
        ({"LC_CTYPE": "C.UTF-8", "LANG": "C"}, {"LANG": "C", "LC_CTYPE": "C.UTF-8"}, True),
    ],
)
def test_utf8_comes_from_the_locale_the_process_started_with(
    environ: dict[str, str], initial: dict[str, str] | None, utf8: bool
) -> None:
    assert utf8_locale(environ, initial) is utf8


def test_ascii_text_keeps_every_cell() -> None:
    for text in ("╭─ Tasks · 6 ─╮", "│▌ ✓ name …│", "日本 ok", "in 2m — ▇▂"):
        out = ascii_text(text)
        assert out.isascii() and cell_len(out) == cell_len(text), (text, out)
    assert ascii_text("╭─ Tasks · 6") == "+- Tasks - 6"
    [segment] = AsciiFilter().apply([Segment("│ ✓")], Color(0, 0, 0))
    assert segment.text == "| ?"


async def test_without_utf8_the_whole_screen_is_ascii(tasks_dir: Path) -> None:
    app = fixture_app(tasks_dir, look=Look(ascii=True))
    async with app.run_test(size=(80, 24)) as pilot:
        cards = app.query_one(TaskList)
        await wait_until(pilot, lambda: len(cards.names) == 3, "the cards")
        await pilot.pause()
        svg = app.export_screenshot()
        texts = re.findall(r">([^<]*)</text>", svg)
        shown = [html.unescape(text).replace("\xa0", " ") for text in texts]
        assert [text for text in shown if not text.isascii()] == []
        assert {"X ", "charlie", " Tasks | 3 ", "+", "|"} <= set(shown)
    assert fmt.glyphs() is fmt.UNICODE  # the next app starts from UTF-8 again


def tone_numbers(app: App[None]) -> list[int | None]:
    cards = app.query_one(TaskList)
    numbers = []
    for tone in ("success", "error", "warning", "running"):
        color = cards.get_component_rich_style(f"task-list--{tone}").color
        assert color is not None
        numbers.append(color.downgrade(ColorSystem.STANDARD).number)
    return numbers


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "nord", "gruvbox"])
async def test_in_16_colours_statuses_keep_apart(tasks_dir: Path, theme: str) -> None:
    plain = fixture_app(tasks_dir)
    async with plain.run_test(size=(120, 36)) as pilot:
        plain.theme = theme
        await pilot.pause()
        brought_down = tone_numbers(plain)
    app = BassiApp(tasks_dir, engine=Engine(tasks_dir, watch=False), look=Look(ansi16=True))
    async with app.run_test(size=(120, 36)) as pilot:
        app.theme = theme
        await pilot.pause()
        numbers = tone_numbers(app)
        assert len(set(numbers)) == 4, numbers
        assert app.ansi_color  # sent as ANSI colours: the terminal's own palette
    # What the issue saw: theme colours brought down to 16 fall together.
    assert len(set(brought_down)) < 4, brought_down
