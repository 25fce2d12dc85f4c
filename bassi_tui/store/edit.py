"""Pausing and resuming a task: set ``enabled:`` in its schedule.yaml, and change nothing else.

``p`` in the app must never break a valid schedule.yaml, whatever its shape. Two ways to edit:

1. A surgical line edit, tried first, because it keeps the file as its author wrote it
   (comments, order, quoting): the top-level ``enabled:`` line(s) at column 0 get the new value
   (a trailing comment stays), or ``enabled: false`` is appended, in the file's own line ending.
2. A rewrite of the whole mapping (block style, comments lost), when the line edit would not
   do: flow style (``{type: daily, time: "09:00"}``), a ``...`` document end marker, an
   indented root mapping, a quoted key, a ``#`` inside a quoted value...

Neither is trusted blindly: the edited text is parsed back with the store's own YAML loader and
must be the original mapping with only ``enabled`` changed (same keys in the same order, each
scalar with the same tag and source text, since schedule.yaml reads times from the source text:
unquoted ``10:30`` is the integer 630 to YAML and must stay ``10:30``). The line edit is used
only when it passes; otherwise the rewrite, which must pass too.

A file that is not valid already is left as it is: :func:`set_enabled` raises ``ValueError``
naming it, so the person fixes it first rather than having bassi-tui guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bassi_tui.store.atomic import atomic_write_text
from bassi_tui.store.models import SCHEDULE_FILE
from bassi_tui.store.parse import FileRefused, read_task_file
from bassi_tui.store.parse_schedule import parse_schedule
from bassi_tui.store.yamlio import YAML_MAX_BYTES, YamlError, YMap, YNode, YScalar, YSeq, load_yaml

__all__ = ["set_enabled", "with_enabled"]

_ENABLED_LINE = re.compile(
    r"^enabled[ \t]*:(?P<value>[^\r\n]*?)(?P<comment>[ \t]+#[^\r\n]*)?(?=\r?$)", re.MULTILINE
)
"""A top-level ``enabled:`` line (column 0), its value and its trailing comment (which YAML
only recognises after a blank: ``true#x`` is one plain scalar)."""

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"

Shape = tuple[object, ...]
"""What a parsed document is compared by: every scalar's tag and source text, in order."""


def with_enabled(text: str, enabled: bool) -> str:
    """Return schedule.yaml ``text`` with its top-level ``enabled`` set, all else unchanged.

    Raises ``ValueError`` when ``text`` is not a YAML mapping (there is nothing safe to edit).
    See the module docstring for how the edit is made and checked.
    """
    original = _load_mapping(text)
    expected = _shape(_set_entry(original, enabled))
    edited = _line_edit(text, enabled)
    if _shape_of_text(edited) == expected:
        return edited
    rewritten = _rewrite(_set_entry(original, enabled))
    if _shape_of_text(rewritten) == expected:
        return rewritten
    raise ValueError(  # pragma: no cover - the rewrite is built from the checked tree itself
        "cannot set `enabled:` without changing other values; edit the file by hand"
    )


def set_enabled(task_path: Path, enabled: bool) -> None:
    """Pause or resume a task by editing ``enabled:`` in its schedule.yaml, atomically.

    Raises ``ValueError`` naming the file, which is left untouched, when it cannot be read as a
    valid schedule: pausing must not turn a broken file into a differently broken one. The file
    is read with the store's guards (a regular file inside the task folder, size cap).
    """
    path = task_path / SCHEDULE_FILE
    try:
        data = read_task_file(task_path, SCHEDULE_FILE, YAML_MAX_BYTES)
    except FileRefused as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(
            f"{path} is not valid UTF-8; fix it first (it was left as it is)"
        ) from None
    _, problems = parse_schedule(task_path.name, text)
    if problems:
        first = problems[0]
        where = f"line {first.line}: " if first.line is not None else ""
        raise ValueError(
            f"{path} is not a valid schedule ({where}{first.message}); "
            "fix it first (it was left as it is)"
        )
    new_text = with_enabled(text, enabled)
    if new_text != text:  # already so: no write, no reload
        atomic_write_text(path, new_text)


def _line_edit(text: str, enabled: bool) -> str:
    """The surgical edit: rewrite the top-level ``enabled:`` line(s), or append one."""
    value = "true" if enabled else "false"
    edited, count = _ENABLED_LINE.subn(
        lambda m: f"enabled: {value}{m.group('comment') or ''}", text
    )
    if count:
        return edited
    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return f"{text}enabled: {value}{newline}"


def _load_mapping(text: str) -> YMap:
    try:
        node = load_yaml(text)
    except YamlError as exc:
        where = f" (line {exc.line})" if exc.line is not None else ""
        raise ValueError(f"{exc.message}{where}") from None
    if node is None:
        return YMap((), 1)  # an empty document: an empty mapping, as the store reads it
    if not isinstance(node, YMap):
        raise ValueError("expected a mapping of keys (type:, time:...) at the top level")
    return node


def _set_entry(mapping: YMap, enabled: bool) -> YMap:
    """``mapping`` with every top-level ``enabled`` key set (appended when there is none)."""
    value = YScalar(enabled, "true" if enabled else "false", 0, _BOOL)
    entries = [
        (key, value if key.tag == _STR and key.value == "enabled" else node)
        for key, node in mapping.entries
    ]
    if not any(key.tag == _STR and key.value == "enabled" for key, _ in entries):
        entries.append((YScalar("enabled", "enabled", 0, _STR), value))
    return YMap(tuple(entries), mapping.line)


def _shape(node: YNode) -> Shape:
    """A comparable form of ``node``: lines and quoting style do not count, tags and text do."""
    if isinstance(node, YScalar):
        # Any null is the same null (``key:``, ``~``, ``null``); otherwise the source text,
        # from which both YAML's value and the schedule's own parsing (times) are made.
        return ("null",) if node.tag == _NULL else ("scalar", node.tag, node.raw)
    if isinstance(node, YSeq):
        return ("list", *(_shape(item) for item in node.items))
    return ("map", *((_shape(key), _shape(value)) for key, value in node.entries))


def _shape_of_text(text: str) -> Shape | None:
    try:
        node = load_yaml(text)
    except YamlError:
        return None
    return None if node is None else _shape(node)


@dataclass(frozen=True, slots=True)
class _Raw:
    """A non-string scalar, to be written back as its source text with its tag."""

    tag: str
    raw: str


@dataclass(frozen=True, slots=True)
class _Pairs:
    """A mapping as its (key, value) pairs, in order, duplicates included."""

    pairs: tuple[tuple[object, object], ...]


class _Dumper(yaml.SafeDumper):
    """``yaml.safe_dump`` that writes scalars back as they were read (see :func:`_rewrite`)."""

    def ignore_aliases(self, data: object) -> bool:
        """Never write ``&anchor``/``*alias``: the store's loader refuses aliases."""
        return True


def _represent_raw(dumper: yaml.SafeDumper, data: _Raw) -> yaml.Node:
    # The emitter leaves the tag out when the plain text resolves to it again, which it does:
    # the text came from a plain scalar that resolved to this very tag.
    return dumper.represent_scalar(data.tag, data.raw)


def _represent_pairs(dumper: yaml.SafeDumper, data: _Pairs) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(data.pairs))


_Dumper.add_representer(_Raw, _represent_raw)
_Dumper.add_representer(_Pairs, _represent_pairs)


def _plain(node: YNode) -> object:
    if isinstance(node, YScalar):
        if node.tag == _STR:
            return node.value  # the dumper picks a quoting that reads back as this string
        if node.tag == _NULL:
            return None
        return _Raw(node.tag, node.raw)
    if isinstance(node, YSeq):
        return [_plain(item) for item in node.items]
    return _Pairs(tuple((_plain(key), _plain(value)) for key, value in node.entries))


def _rewrite(mapping: YMap) -> str:
    """The fallback: ``yaml.safe_dump`` of the mapping in block style, keys in file order.

    Not ``safe_dump`` of the constructed values: ``time: 10:30`` would come back as
    ``time: 630``. Non-string scalars are written as their source text instead (:class:`_Raw`).
    """
    return yaml.dump(
        _plain(mapping),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,  # never fold a long value over lines
    )
