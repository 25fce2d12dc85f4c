"""The libyaml fast path and the pure-Python path refuse and accept exactly the same files."""

from __future__ import annotations

import pytest
import yaml

from bassi_tui.store import yamlio
from bassi_tui.store.yamlio import YamlError, YMap, YScalar, load_yaml

LOADERS = [
    pytest.param(getattr(yaml, "CSafeLoader", None), id="libyaml"),
    pytest.param(None, id="python"),
]

BOMB = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
DEEP = "a: " + "[" * 40 + "]" * 40 + "\n"
MANY = "".join(f"k{i}: {i}\n" for i in range(10_001))


@pytest.fixture(params=LOADERS)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> object:
    if request.param is None and request.node.callspec.id.startswith("libyaml"):
        pytest.skip("PyYAML built without libyaml")
    monkeypatch.setattr(yamlio, "_CLoader", request.param)
    return request.param


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (BOMB, 2, "aliases"),
        ("a: 1\nb: *x\n", 2, "aliases"),  # an alias with no anchor: small, no "&"
        (DEEP, 1, "nested more than"),
        ("[" * 500 + "]" * 500, 1, "nested more than"),  # as deep as 1 KiB allows
        (MANY, None, "more than 10000 values"),
        ("type: daily\ntime: [oops\n", 3, "not valid YAML"),
        ("x: !!python/object/apply:os.system ['true']\n", 1, "unsupported tag"),
    ],
)
def test_both_loaders_refuse_alike(
    loader: object, text: str, line: int | None, message: str
) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(text)
    assert message in caught.value.message
    if line is not None:
        assert caught.value.line == line


def test_both_loaders_keep_raw_text_and_lines(loader: object) -> None:
    tree = load_yaml("# c\ntype: daily\ntime: 9:30\n")  # YAML 1.1: base 60
    assert isinstance(tree, YMap)
    (k1, v1), (k2, v2) = tree.entries
    assert (k1.value, k1.line, k2.line) == ("type", 2, 3)
    assert isinstance(v2, YScalar) and v2.raw == "9:30" and v2.value == 570
    assert isinstance(v1, YScalar) and v1.value == "daily"


def test_small_anchorless_files_skip_the_event_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    if yamlio._CLoader is None:
        pytest.skip("PyYAML built without libyaml")
    passes: list[str] = []
    real = yamlio._guard_events
    monkeypatch.setattr(yamlio, "_guard_events", lambda text: (passes.append(text), real(text)))
    small = "type: cron\ncron: '*/5 * * * *'\n"
    anchored = "a: &x 1\n"
    load_yaml(small)
    load_yaml(anchored)  # an anchor alone is harmless, but takes the guarded path
    big = "".join(f"k{i}: v\n" for i in range(yamlio.FAST_MAX_CHARS // 5))
    load_yaml(big)
    assert passes == [anchored, big]
