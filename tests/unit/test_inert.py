"""inert(): names and log text lose every control character, visibly escaped, never dropped."""

from __future__ import annotations

import pytest

from bassi_tui.store.inert import inert, inert_output


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("weekly-report", "weekly-report"),
        ("täglich ☕ 日報", "täglich ☕ 日報"),  # printable Unicode is left alone
        ("back\\slash", "back\\slash"),
        ("evil\x1b]0;pwned\x07\nFAKE LINE", "evil\\x1b]0;pwned\\x07\\nFAKE LINE"),
        ("clear\x1b[2J", "clear\\x1b[2J"),
        ("tab\there\rcr", "tab\\there\\rcr"),
        ("nul\x00del\x7f", "nul\\x00del\\x7f"),
        ("c1 csi\x9b31m nel\x85", "c1 csi\\x9b31m nel\\x85"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("not-utf8-\udcff", "not-utf8-\\xff"),  # os.listdir's surrogateescape for byte 0xff
    ],
)
def test_inert_escapes_every_control_character(raw: str, shown: str) -> None:
    assert inert(raw) == shown


def test_inert_output_keeps_newlines_and_tabs_only() -> None:
    text = "line 1\n\tline 2\x1b]52;c;ZXZpbA==\x07\x1b]0;title\x07\r\n"
    assert inert_output(text) == "line 1\n\tline 2\\x1b]52;c;ZXZpbA==\\x07\\x1b]0;title\\x07\\r\n"


def test_inert_output_is_the_same_however_a_stream_is_cut() -> None:
    text = "a\x1b]0;t\x07b\x9bc"
    whole = inert_output(text)
    for cut in range(len(text) + 1):
        assert inert_output(text[:cut]) + inert_output(text[cut:]) == whole


def is_unsafe(char: str) -> bool:
    """A character a terminal or a log viewer may act on: C0, DEL, C1, separators, surrogates."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029) or 0xD800 <= code < 0xE000


def test_no_unsafe_character_survives() -> None:
    everything = "".join(map(chr, range(0x3000))) + "".join(map(chr, range(0xD800, 0xE000)))
    assert not any(is_unsafe(c) for c in inert(everything))
    assert [c for c in inert_output(everything) if is_unsafe(c)] == ["\t", "\n"]
