"""A small, safe YAML reader that remembers where everything came from.

Task files are tiny and written by hand, so what matters is not speed but good errors and
safety. This module builds on PyYAML's ``SafeLoader`` composition step (the node graph, before
any Python objects are made) and turns it into a tree of :class:`YScalar`, :class:`YSeq` and
:class:`YMap`, each carrying its 1-based line.

Scalars keep both the safe-constructed ``value`` and the ``raw`` source text. The raw text is
what time fields must be parsed from: YAML 1.1 reads an unquoted ``09:30`` as the sexagesimal
int 570 and ``2026-01-01 10:00:00`` as a datetime.

Safety, in order:

- size is checked before any parsing (:data:`YAML_MAX_BYTES`);
- aliases (``*name``) are refused outright, which kills "billion laughs" bombs without having
  to count expansions; nesting depth and node count are capped too;
- only YAML's standard tags are constructed, by ``SafeConstructor``; ``!!python/object`` and
  friends are errors and never executed.

Errors are raised as :class:`YamlError` with a 1-based line. Messages are built from PyYAML's
``problem`` text only, never its source snippet, so a syntax error in a file holding secrets
(config.yaml ``environment:``) does not echo the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

YAML_MAX_BYTES = 256 * 1024
"""Task YAML files bigger than this are refused unread."""

MAX_DEPTH = 32
"""Deepest nesting allowed; task files need 3 or so, and PyYAML's composer is recursive."""

MAX_NODES = 10_000
"""Most nodes allowed in one document; a big config.yaml has a few hundred."""

NO_ALIASES = "aliases (*name) are not supported; write the value out in full"

FAST_MAX_CHARS = 1024
"""libyaml documents this small and without an anchor (``&``) skip the guarding event pass:
with no anchor no alias can resolve (an alias bomb needs anchors), 1 KiB cannot nest deeper
than libyaml's recursive composer copes with, and depth and count are checked on the tree
while it is converted. Task files are a few lines: this halves their parse time."""

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class YamlError(Exception):
    """A YAML file that cannot be read; ``line`` is 1-based, or None for the whole file."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class YScalar:
    """A scalar: its safe-constructed ``value``, its ``raw`` text, its line and its tag."""

    value: object
    raw: str
    line: int
    tag: str

    @property
    def is_null(self) -> bool:
        """True for ``~``, ``null`` or nothing at all after the colon."""
        return self.value is None

    @property
    def is_str(self) -> bool:
        """True when YAML made this scalar a string (quoted, or plain text that is no number)."""
        return isinstance(self.value, str)


@dataclass(frozen=True, slots=True)
class YSeq:
    """A sequence (list) and the line it starts on."""

    items: tuple[YNode, ...]
    line: int


@dataclass(frozen=True, slots=True)
class YMap:
    """A mapping as (key, value) pairs in file order, duplicates kept so callers can report them.

    Keys are always scalars; :func:`load_yaml` refuses anything else.
    """

    entries: tuple[tuple[YScalar, YNode], ...]
    line: int


YNode = YScalar | YSeq | YMap


def kind(node: YNode) -> str:
    """A short noun for error messages: "a list", "a mapping", "a number"..."""
    if isinstance(node, YSeq):
        return "a list"
    if isinstance(node, YMap):
        return "a mapping"
    value = node.value
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses aliases and caps depth and node count."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            raise YamlError(self._event_line(), NO_ALIASES)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlError(self._event_line(), f"more than {MAX_NODES} values in one file")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlError(self._event_line(), f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _event_line(self) -> int | None:
        """The 1-based line of the event about to be composed."""
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        return _line(event.start_mark)


_CLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


def _guard_events(text: str) -> None:
    """Refuse aliases, deep nesting and huge documents, from libyaml's event stream."""
    assert _CLoader is not None
    parser = _CLoader(text)
    depth = nodes = 0
    try:
        while parser.check_event():
            event = parser.get_event()  # type: ignore[no-untyped-call]  # untyped in stubs
            if isinstance(event, AliasEvent):
                raise YamlError(
                    _line(event.start_mark),
                    NO_ALIASES,
                )
            if isinstance(event, NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise YamlError(
                        _line(event.start_mark), f"more than {MAX_NODES} values in one file"
                    )
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlError(
                        _line(event.start_mark), f"nested more than {MAX_DEPTH} levels deep"
                    )
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise YamlError(_line(exc.problem_mark), _describe(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlError(None, f"not valid YAML: {type(exc).__name__}") from None
    finally:
        parser.dispose()


def _line(mark: Any) -> int | None:
    # A yaml.Mark, or the C parser's own mark type; both carry a 0-based ``line``.
    return int(mark.line) + 1 if mark is not None else None


def load_yaml(text: str, *, max_bytes: int = YAML_MAX_BYTES) -> YNode | None:
    """Parse one YAML document into a located tree; None for an empty document.

    Raises :class:`YamlError` for oversize text, syntax errors, aliases, unsafe or unknown tags,
    and non-scalar mapping keys.
    """
    # len() in characters is a lower bound on UTF-8 bytes: a cheap early out for huge input.
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise YamlError(None, f"file is larger than the {max_bytes // 1024} KiB limit; not read")
    loader: yaml.SafeLoader
    if _CLoader is not None:
        # libyaml parses ~8x faster (it matters at 10,000 tasks); the guards run first as a
        # pass over its events, so an alias never reaches the composer.
        if len(text) > FAST_MAX_CHARS or "&" in text:
            _guard_events(text)
        loader = _CLoader(text)
    else:
        loader = _GuardedLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _convert(loader, node, _Budget())
    except yaml.MarkedYAMLError as exc:
        if exc.problem is not None and "undefined alias" in exc.problem:
            raise YamlError(_line(exc.problem_mark), NO_ALIASES) from None  # as the event pass
        raise YamlError(_line(exc.problem_mark), _describe(exc)) from None
    except yaml.YAMLError as exc:  # unmarked errors (e.g. reader errors): no line to give
        raise YamlError(None, f"not valid YAML: {type(exc).__name__}") from None
    finally:
        loader.dispose()


def _describe(exc: yaml.MarkedYAMLError) -> str:
    # ``problem``/``context`` are fixed phrases ("mapping values are not allowed here");
    # str(exc) would add a snippet of the source line, which may hold a secret.
    parts = [p for p in (exc.context, exc.problem) if p]
    return "not valid YAML: " + ("; ".join(parts) if parts else "syntax error")


class _Budget:
    """Nodes converted so far: the same caps as the event pass, for documents that skip it."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes = 0


def _convert(loader: yaml.SafeLoader, node: Node, budget: _Budget, depth: int = 0) -> YNode:
    line = node.start_mark.line + 1
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise YamlError(line, f"more than {MAX_NODES} values in one file")
    if isinstance(node, ScalarNode):
        return YScalar(_construct(loader, node), node.value, line, node.tag)
    depth += 1
    if depth > MAX_DEPTH:
        raise YamlError(line, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, SequenceNode):
        _check_tag(node, _SEQ_TAG)
        return YSeq(tuple(_convert(loader, item, budget, depth) for item in node.value), line)
    if isinstance(node, MappingNode):
        _check_tag(node, _MAP_TAG)
        entries: list[tuple[YScalar, YNode]] = []
        for key_node, value_node in node.value:
            key = _convert(loader, key_node, budget, depth)
            if not isinstance(key, YScalar):
                raise YamlError(key.line, "a key must be a plain name, not a list or mapping")
            entries.append((key, _convert(loader, value_node, budget, depth)))
        return YMap(tuple(entries), line)
    raise YamlError(line, f"unexpected YAML node {type(node).__name__}")  # pragma: no cover


def _check_tag(node: Node, expected: str) -> None:
    # SafeLoader would build a set or an ordered map for !!set/!!omap; task files never need
    # them, and refusing every non-standard collection tag keeps the tree plain.
    if node.tag != expected:
        raise YamlError(node.start_mark.line + 1, f"unsupported tag {_short_tag(node.tag)}")


def _construct(loader: yaml.SafeLoader, node: ScalarNode) -> object:
    try:
        return loader.construct_object(node, deep=True)
    except ConstructorError:
        raise YamlError(
            node.start_mark.line + 1, f"unsupported tag {_short_tag(node.tag)}"
        ) from None
    except Exception:
        # e.g. ``!!int abc`` or ``!!timestamp nonsense``: PyYAML raises plain ValueError or worse.
        # The message names the tag only: the value may be a secret.
        raise YamlError(
            node.start_mark.line + 1, f"value is not a valid {_short_tag(node.tag)}"
        ) from None


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag
