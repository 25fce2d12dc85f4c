"""The located, safe YAML reader: lines, raw text, and refusal of everything dangerous."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bassi_tui.store.yamlio import (
    MAX_DEPTH,
    MAX_NODES,
    YAML_MAX_BYTES,
    YamlError,
    YMap,
    YScalar,
    YSeq,
    load_yaml,
)


def _map(text: str) -> YMap:
    node = load_yaml(text)
    assert isinstance(node, YMap)
    return node


def test_keys_keep_their_lines_and_scalars_their_source_text() -> None:
    node = _map("# comment\ntype: daily\n\ntime: 10:30\nwhen: 2026-01-01 10:00:00\n")
    [(k1, v1), (k2, v2), (k3, v3)] = node.entries
    assert (k1.raw, k1.line, k2.raw, k2.line, k3.line) == ("type", 2, "time", 4, 5)
    # YAML 1.1 reads 10:30 as base 60 (630) and the timestamp as a datetime; raw keeps the text.
    assert isinstance(v2, YScalar) and (v2.value, v2.raw) == (630, "10:30")
    assert isinstance(v3, YScalar) and v3.value == datetime(2026, 1, 1, 10, 0)
    assert v3.raw == "2026-01-01 10:00:00"
    assert isinstance(v1, YScalar) and v1.is_str and v1.value == "daily"


def test_list_items_have_their_own_lines() -> None:
    node = _map("day:\n  - mon\n  - tue\n")
    seq = node.entries[0][1]
    assert isinstance(seq, YSeq)
    assert [(i.raw, i.line) for i in seq.items if isinstance(i, YScalar)] == [
        ("mon", 2),
        ("tue", 3),
    ]


def test_empty_documents_are_none() -> None:
    assert load_yaml("") is None
    assert load_yaml("# only a comment\n") is None


def test_null_values_are_flagged() -> None:
    value = _map("system:\n").entries[0][1]
    assert isinstance(value, YScalar) and value.is_null


def test_syntax_error_has_a_one_based_line_and_no_source_snippet() -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml("type: daily\ntime: 09:00\nsecret: a: b\n")
    assert caught.value.line == 3
    assert "not valid YAML" in caught.value.message
    assert "a: b" not in caught.value.message


def test_oversize_text_is_refused_before_parsing() -> None:
    # Invalid YAML on purpose: the size error must come first, without any parsing.
    text = "[" * (YAML_MAX_BYTES + 1)
    with pytest.raises(YamlError) as caught:
        load_yaml(text)
    assert caught.value.line is None
    assert "256 KiB" in caught.value.message


def test_oversize_counts_bytes_not_characters() -> None:
    text = "k: " + "é" * (YAML_MAX_BYTES // 2)  # fewer characters than the cap, more bytes
    with pytest.raises(YamlError, match="256 KiB"):
        load_yaml(text)


def test_billion_laughs_is_refused_at_the_first_alias() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    with pytest.raises(YamlError) as caught:
        load_yaml("\n".join(lines) + "\n")
    assert caught.value.line == 2
    assert "aliases" in caught.value.message


def test_python_tags_are_errors_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f'x: !!python/object/apply:os.system ["touch {marker}"]\n'
    with pytest.raises(YamlError) as caught:
        load_yaml(text)
    assert caught.value.line == 1
    assert "unsupported tag !!python/object/apply:os.system" in caught.value.message
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "x: !!python/name:os.system\n",
        "x: !!python/object:os.Popen {args: [ls]}\n",
        "x: !!set {a, b}\n",
        "x: !custom thing\n",
    ],
)
def test_non_standard_tags_are_refused(text: str) -> None:
    with pytest.raises(YamlError, match="unsupported tag"):
        load_yaml(text)


def test_bad_tagged_value_names_the_tag_not_the_value() -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml("a: 1\ntoken: !!int sk-secret-value\n")
    assert caught.value.line == 2
    assert "!!int" in caught.value.message
    assert "sk-secret" not in caught.value.message


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlError, match=f"more than {MAX_DEPTH} levels"):
        load_yaml("[" * 1000 + "]" * 1000)


def test_node_count_is_capped() -> None:
    with pytest.raises(YamlError, match=f"more than {MAX_NODES} values"):
        load_yaml("[" + ", ".join(["1"] * MAX_NODES) + "]")


def test_mapping_keys_must_be_scalars() -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml("a: 1\n? [x, y]\n: 2\n")
    assert caught.value.line == 2
    assert "plain name" in caught.value.message


def test_more_than_one_document_is_an_error() -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml("a: 1\n---\nb: 2\n")
    assert caught.value.line == 2
