"""bassi.yaml ``defaults:`` under a task's config.yaml: the merge, and where each value came from.

The merge happens on the located YAML tree (:mod:`~bassi_tui.store.yamlio`), before config.yaml's
keys are read, so the one reader of config.yaml reads defaults too and every rule it knows
(types, ranges, the agent's path rules checked against *this* task's folder) holds for them:

- a key the task sets replaces the default, except that when both sides are mappings
  (``notify``, ``output``, ``environment``, ``mcp_servers``...) they merge key by key, at any
  depth: ``notify.channels`` from bassi.yaml and ``notify.on_success`` from the task give both;
- lists and scalars are replaced whole (a task's ``tools: [read]`` is its whole list);
- a key the task leaves empty (``timeout:``, ``notify:`` with everything under it commented
  out) is as if it were not there, so the default applies, as an empty key means "the default"
  everywhere else (see :mod:`~bassi_tui.store.parse_common`). To clear a default, give a value:
  ``channels: []``, ``VAR: ""``.

Where a value came from: every line number of the defaults tree is a :class:`DefaultsLine`, an
``int`` that remembers it counts lines of bassi.yaml. Problems are reported with whatever line
the reader had at hand, and :func:`relocated` moves those whose line is a :class:`DefaultsLine`
to ``bassi.yaml``, so ``workdir: ../x`` from the defaults is reported as ``bassi.yaml:4`` in
every task it breaks, and a bad value in the task as ``config.yaml:LINE``, unchanged. Readers
need not know any of this; messages that quote a line (``first on line 3``) print it as a plain
number.

Everything here is plain, immutable and picklable: the defaults cross to the worker processes
that read task folders at start-up (:mod:`~bassi_tui.store.loading`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import overload

from bassi_tui.store.models import TaskProblem, fields_reduce
from bassi_tui.store.yamlio import YMap, YNode, YScalar, YSeq

__all__ = ["BASSI_FILE", "Defaults", "DefaultsLine", "merge_defaults", "relocated", "tagged"]

BASSI_FILE = "bassi.yaml"
"""The tasks dir's own settings file, next to the task folders."""


class DefaultsLine(int):
    """A 1-based line number of bassi.yaml (an ``int`` in every other respect)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"DefaultsLine({int(self)})"

    def __str__(self) -> str:
        # int's own __str__ would fall back to the repr above in messages ("line DefaultsLine(2)").
        return int.__repr__(self)


@dataclass(frozen=True, slots=True)
class Defaults:
    """bassi.yaml's ``defaults:``: config.yaml keys as located YAML, lines tagged as bassi.yaml's.

    Build it with :func:`tagged` (or :func:`~bassi_tui.store.settings.parse_settings`, which also
    validates it); equal defaults mean equal task configs.
    """

    __reduce__ = fields_reduce

    config: YMap

    def __repr__(self) -> str:
        # environment values (and an MCP server's env, headers, URL) are secrets: a repr in a
        # log line or a traceback shows the keys only.
        return f"Defaults(keys={[key.raw for key, _ in self.config.entries]!r})"


@overload
def tagged(node: YMap) -> YMap: ...
@overload
def tagged(node: YNode) -> YNode: ...
def tagged(node: YNode) -> YNode:
    """``node`` with every line (its own, its keys', its children's) a :class:`DefaultsLine`."""
    if isinstance(node, YScalar):
        return YScalar(node.value, node.raw, DefaultsLine(node.line), node.tag)
    if isinstance(node, YSeq):
        return YSeq(tuple(tagged(item) for item in node.items), DefaultsLine(node.line))
    entries = tuple((_tagged_key(key), tagged(value)) for key, value in node.entries)
    return YMap(entries, DefaultsLine(node.line))


def _tagged_key(key: YScalar) -> YScalar:
    return YScalar(key.value, key.raw, DefaultsLine(key.line), key.tag)


def _empty(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.is_null


def merge_defaults(base: YMap, over: YMap) -> YMap:
    """``over`` (a task's mapping) laid over ``base`` (the defaults): see the module docstring.

    The result keeps the default entries the task does not set, in their order, then every
    entry of the task in its order, duplicates included: the reader still reports a key the
    task gives twice, at the task's lines. The merged mapping has the task's line.
    """
    if not base.entries:
        return over
    if not over.entries:
        return YMap(base.entries, over.line)
    defaults: dict[str, YNode] = {}
    for key, value in base.entries:
        defaults.setdefault(key.raw, value)
    # Keys matched on their source text, as the readers match them (YAML 1.1 reads `on:` as True).
    overridden = {key.raw for key, value in over.entries if not _empty(value)}
    entries: list[tuple[YScalar, YNode]] = [
        (key, value) for key, value in base.entries if key.raw not in overridden
    ]
    for key, value in over.entries:
        below = defaults.get(key.raw)
        if _empty(value) and below is not None:
            continue  # an empty key means "the default": the default's entry stays
        if isinstance(value, YMap) and isinstance(below, YMap):
            value = merge_defaults(below, value)
        entries.append((key, value))
    return YMap(tuple(entries), over.line)


def relocated(problems: Iterable[TaskProblem]) -> list[TaskProblem]:
    """``problems`` with those found in values from bassi.yaml pointing at bassi.yaml."""
    out: list[TaskProblem] = []
    for problem in problems:
        if isinstance(problem.line, DefaultsLine):
            problem = TaskProblem(problem.task, BASSI_FILE, int(problem.line), problem.message)
        out.append(problem)
    return out
