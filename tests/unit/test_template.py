"""Prompt variables: only known {names} are replaced; JSON and other braces survive intact."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bassi_tui.executor.template import VARIABLE_NAMES, expand_prompt, template_variables

BERLIN = ZoneInfo("Europe/Berlin")
VARS = {"date": "2025-01-31", "task_name": "weekly-report"}


def test_known_variables_are_replaced() -> None:
    assert expand_prompt("Report {task_name} for {date}.", VARS) == (
        "Report weekly-report for 2025-01-31."
    )


def test_a_variable_inside_json_is_replaced_and_the_json_kept() -> None:
    assert expand_prompt('{"a": {date}}', VARS) == '{"a": 2025-01-31}'
    assert expand_prompt('{"a": {"b": {date}}}', VARS) == '{"a": {"b": 2025-01-31}}'


@pytest.mark.parametrize(
    "text",
    [
        "{foo} and {unknown_name}",  # unknown names
        '{"date": 1, "x": [1, {"y": 2}]}',  # JSON whose keys look like variables
        "{ date } {date-1} {1date} {}",  # not a variable's syntax
        "{{date}} and {{task_name}}",  # doubled braces: the escape, kept verbatim
        "unbalanced { and } and {date",
        "",
    ],
)
def test_other_brace_text_is_left_exactly_as_it_is(text: str) -> None:
    assert expand_prompt(text, VARS) == text


def test_doubled_braces_are_kept_next_to_an_expanded_variable() -> None:
    assert expand_prompt("{{date}} is {date}", VARS) == "{{date}} is 2025-01-31"


def test_a_value_containing_braces_is_not_expanded_again() -> None:
    assert expand_prompt("{date}", {"date": "{task_name}", "task_name": "x"}) == "{task_name}"


def test_template_variables_in_the_original_formats() -> None:
    now = datetime(2025, 1, 31, 9, 5, 7, tzinfo=BERLIN)
    # 23:30 UTC on the 30th is already the 31st in Berlin: dates agree on "today".
    last = datetime(2025, 1, 30, 23, 30, tzinfo=UTC)
    assert template_variables("weekly-report", now, last, True) == {
        "date": "2025-01-31",
        "time": "09:05",  # HH:MM, no seconds
        "timestamp": str(int(now.timestamp())),  # Unix seconds
        "weekday": "friday",  # lowercase English
        "task_name": "weekly-report",
        "last_run_date": "2025-01-31",
        "last_run_success": "true",
    }
    assert template_variables("t", now, last, True)["timestamp"] == "1738310707"


def test_template_variables_before_the_first_run() -> None:
    values = template_variables("t", datetime(2025, 6, 2, 12, 0, tzinfo=BERLIN), None, None)
    assert values["last_run_date"] == ""  # empty, not "never"
    assert values["last_run_success"] == "false"  # not "unknown"
    assert values["weekday"] == "monday"


def test_last_run_failure_is_false() -> None:
    values = template_variables("t", datetime(2025, 6, 2, tzinfo=UTC), None, False)
    assert values["last_run_success"] == "false"


def test_values_are_in_the_tasks_zone_when_given() -> None:
    kiritimati = ZoneInfo("Pacific/Kiritimati")  # UTC+14: already tomorrow
    now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    last = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # 2026-03-10 02:00 in Kiritimati
    values = template_variables("t", now, last, True, zone=kiritimati)
    assert values["date"] == "2026-03-11"
    assert values["time"] == "13:30"
    assert values["weekday"] == "wednesday"
    assert values["last_run_date"] == "2026-03-10"
    assert values["timestamp"] == str(int(now.timestamp()))  # an instant: the same in any zone


def test_a_naive_now_is_local_time_and_gives_the_same_timestamp() -> None:
    naive = datetime(2025, 6, 2, 12, 0)
    values = template_variables("t", naive, None, None)
    assert values["timestamp"] == str(int(naive.astimezone().timestamp()))
    assert values["time"] == "12:00"


def test_timestamp_drops_fractions_of_a_second() -> None:
    now = datetime(2025, 6, 2, 12, 0, 0, 999_999, tzinfo=UTC)
    assert template_variables("t", now, None, None)["timestamp"] == "1748865600"


def test_every_documented_variable_expands() -> None:
    values = template_variables("t", datetime(2025, 6, 2, tzinfo=UTC), None, None)
    assert set(values) == set(VARIABLE_NAMES)
    template = " ".join("{" + name + "}" for name in VARIABLE_NAMES)
    assert "{" not in expand_prompt(template, values)
