"""Templates: ``<tasks dir>/.templates/NAME/``, defaults a task takes with ``extends: NAME``.

A template folder holds any of a task's three files, each optional: schedule.yaml, config.yaml
and prompt.txt. A task whose config.yaml says ``extends: weekly`` takes them from
``.templates/weekly/``; its own files win:

- config.yaml merges key by key, at any depth, exactly as bassi.yaml's ``defaults:`` do (see
  :mod:`~bassi_tui.store.defaults`: mappings merge, lists and scalars are replaced whole, an
  empty key in the task means "the template's value"). Precedence: the task, then its
  template, then what that template extends, then bassi.yaml's ``defaults:``.
- schedule.yaml merges key by key too (its keys are all top-level): a template with
  ``timezone: Europe/Rome`` and ``time: "09:00"`` and a task with ``type: daily`` give a daily
  09:00 in Rome. A task that sets another ``type:`` than its template's keeps only the
  template's ``enabled``, ``timezone`` and ``jitter`` (a weekly template's ``day:`` means
  nothing to an interval). schedule.yaml and prompt.txt are not required in a task that
  extends a template providing them.
- prompt.txt in the task replaces the template's whole (a prompt is text, not a mapping).
- Relative paths (``workdir``, ``allowed_paths``...) are the task's: ``workdir: workspace``
  in a template gives every task its own workspace.

A template may ``extends:`` another (a chain, nearest first). A loop is an error naming it,
``a -> b -> a``, at the ``extends:`` line that closes it; so is a template that does not exist
(``extends: 'weekly' not found in .templates/; there are: daily, monthly``), on the line of
the ``extends:`` that names it: the task's config.yaml, or a template's. bassi.yaml's
``defaults:`` may not name a template (each task says what it extends).

A template is never a task (dot folders are not task folders) and is not read as one: its
schedule.yaml may lack ``type:``, which its tasks give. Its problems are each task's that uses
it, pointing into the template: ``.templates/weekly/config.yaml:3`` (``bassi-tui check`` says
each once, with the tasks it breaks, and checks a template no task extends by itself:
:meth:`Templates.check`). Values are tagged with :class:`TemplateLine` (an ``int`` that knows
its file) as bassi.yaml's are with :class:`~bassi_tui.store.defaults.DefaultsLine`;
schedule.yaml, read by a parser that takes text, is put together as text (:func:`splice`) with
a map from each of its lines back to the file and line it came from.

A broken template (bad YAML, an unreadable file, a loop, a missing parent) breaks every task that
extends it; there is no "last good template" kept, as there is for bassi.yaml: the tasks show
the problem on their cards, as they would for a broken file of their own.

Speed: :func:`read_templates` reads every template once per load (a scandir and three small
files each); :class:`Templates` parses and resolves each one at most once, and caches what
tasks share (the merged defaults, a template's schedule when the task has none of its own, and
a task's own schedule.yaml over it by its text). Tasks that extend nothing pay a scan of their
config.yaml's top-level keys. What crosses to the start-up worker processes is the templates'
text (:class:`TemplateSource`); each process parses it again, once.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bassi_tui.store.defaults import Defaults, merge_defaults
from bassi_tui.store.models import (
    CONFIG_FILE,
    PROMPT_FILE,
    SCHEDULE_FILE,
    Schedule,
    TaskProblem,
    fields_reduce,
)
from bassi_tui.store.parse_common import Report, close_match, load_mapping
from bassi_tui.store.parse_config import read_config
from bassi_tui.store.parse_schedule import COMMON_KEYS, parse_schedule
from bassi_tui.store.yamlio import YamlError, YMap, YNode, YScalar, YSeq, kind, load_yaml

__all__ = [
    "EXTENDS",
    "NO_TEMPLATES",
    "TEMPLATES_DIR",
    "Extends",
    "Layered",
    "Resolved",
    "TemplateKeeper",
    "TemplateLine",
    "TemplateSource",
    "Templates",
    "extended",
    "read_templates",
    "relocated",
    "splice",
    "template_file",
]

TEMPLATES_DIR = ".templates"
"""The folder of templates, at the top of the tasks dir (a dot folder: never a task)."""
EXTENDS = "extends"
"""The config.yaml key that names a task's (or a template's) template."""
#: A "not found" message lists at most this many templates.
_LISTED = 20
#: Schedules read over a template, remembered by their text: at most this many.
_REMEMBERED = 4096
_EXPECT_NAME = f"expected the name of a template (a folder in {TEMPLATES_DIR}/)"


def template_file(name: str, file: str) -> str:
    """How problems name a template's file: ``.templates/NAME/config.yaml``."""
    return f"{TEMPLATES_DIR}/{name}/{file}"


class TemplateLine(int):
    """A 1-based line number of a template's file (an ``int`` in every other respect)."""

    file: str

    def __new__(cls, line: int, file: str) -> TemplateLine:
        self = super().__new__(cls, line)
        self.file = file
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (TemplateLine, (int(self), self.file))

    def __repr__(self) -> str:
        return f"TemplateLine({int(self)}, {self.file!r})"

    def __str__(self) -> str:
        # int's own str() falls back to repr(): a message saying "(first on line 3)" must not
        # say "(first on line TemplateLine(3, ...))".
        return int.__repr__(self)


def _tagged(node: YNode, file: str) -> YNode:
    """``node`` with every line a :class:`TemplateLine` of ``file``."""
    if isinstance(node, YScalar):
        return YScalar(node.value, node.raw, TemplateLine(node.line, file), node.tag)
    if isinstance(node, YSeq):
        return YSeq(tuple(_tagged(i, file) for i in node.items), TemplateLine(node.line, file))
    entries = tuple(
        (YScalar(k.value, k.raw, TemplateLine(k.line, file), k.tag), _tagged(v, file))
        for k, v in node.entries
    )
    return YMap(entries, TemplateLine(node.line, file))


def relocated(problems: Iterable[TaskProblem], task: str | None = None) -> list[TaskProblem]:
    """``problems`` with those found in a template's values pointing at the template's file.

    ``task`` renames them too (a template's own problems are read with no task name).
    """
    out: list[TaskProblem] = []
    for p in problems:
        if isinstance(p.line, TemplateLine):
            p = TaskProblem(task or p.task, p.line.file, int(p.line), p.message)
        elif task is not None and p.task != task:
            p = TaskProblem(task, p.file, p.line, p.message)
        out.append(p)
    return out


# -- reading ----------------------------------------------------------------------------------

Read = str | TaskProblem | None
"""One template file as read: its text, why it could not be read, or None (no such file)."""


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """One template folder's files as read; equal sources mean an unchanged template."""

    __reduce__ = fields_reduce

    name: str
    schedule: Read = None
    config: Read = None
    prompt: Read = None


def read_templates(tasks_dir: Path) -> Templates:
    """Read every template under ``tasks_dir``/.templates/ (blocking I/O: few small files).

    Files are read as safely as a task's (see :mod:`~bassi_tui.store.parse`): regular files
    inside the template folder, size-capped, UTF-8. No .templates/ folder: no templates.
    """
    root = tasks_dir / TEMPLATES_DIR
    try:
        with os.scandir(root) as entries:
            names = sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())
    except OSError:
        return NO_TEMPLATES
    return Templates(tuple(_read_source(root / name, name) for name in names))


def _read_source(folder: Path, name: str) -> TemplateSource:
    # parse imports this module (load_task resolves `extends:`): its reader is imported here.
    from bassi_tui.store.parse import PROMPT_MAX_BYTES, YAML_MAX_BYTES

    return TemplateSource(
        name,
        schedule=_read_file(folder, name, SCHEDULE_FILE, YAML_MAX_BYTES),
        config=_read_file(folder, name, CONFIG_FILE, YAML_MAX_BYTES),
        prompt=_read_file(folder, name, PROMPT_FILE, PROMPT_MAX_BYTES),
    )


def _read_file(folder: Path, name: str, file: str, max_bytes: int) -> Read:
    from bassi_tui.store.parse import FileRefused, read_task_file

    where = template_file(name, file)
    try:
        data = read_task_file(folder, file, max_bytes)
    except FileNotFoundError:
        return None
    except FileRefused as exc:
        return TaskProblem("", where, None, str(exc))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"{file} is not valid UTF-8 (byte {data[exc.start]:#04x}); expected UTF-8 text"
        return TaskProblem("", where, line, message)


# -- schedule.yaml as text --------------------------------------------------------------------

Origin = tuple[str, int]
"""A file and a 1-based line in it."""


@dataclass(frozen=True, slots=True)
class Layered:
    """schedule.yaml text put together from one or more files, and where each line came from."""

    text: str
    #: The text's top-level mapping.
    mapping: YMap
    #: (file, line) of each line of ``text``, in order.
    origin: tuple[Origin, ...]
    #: The file a problem about the whole text goes to: the nearest that has a schedule.yaml.
    file: str


_MARKER = re.compile(r"(---|\.\.\.)(?:[ \t]|$)")
_END = re.compile(r"\.\.\.(?:[ \t]|$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_style(lines: Sequence[str], mapping: YMap) -> bool:
    """True when every top-level key starts a line of its own (what a splice cuts along)."""
    previous = 0
    for key, _ in mapping.entries:
        if key.line <= previous or key.line > len(lines):
            return False
        previous = key.line
        start = lines[key.line - 1].lstrip(" ")
        if not start.startswith((key.raw, '"', "'")) or start.startswith(("{", "[", "?", "-")):
            return False
    return True


def _spans(lines: Sequence[str], mapping: YMap) -> list[range]:
    """The line numbers (1-based) each top-level entry covers: its key's line up to the next's."""
    starts = [key.line for key, _ in mapping.entries]
    ends = [*starts[1:], len(lines) + 1][: len(starts)]
    return [range(a, b) for a, b in zip(starts, ends, strict=True)]


def _empty(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.is_null


def _type_of(mapping: YMap) -> str | None:
    for key, value in mapping.entries:
        if key.raw == "type" and isinstance(value, YScalar) and not value.is_null:
            return value.raw.strip().lower()
    return None


def splice(own_text: str, own: YMap, base: Layered) -> tuple[list[str], list[Origin]] | None:
    """schedule.yaml ``own_text`` (parsed: ``own``) over ``base``, as lines of text.

    The own lines keep their numbers: an entry the base supplies instead (``time:`` left empty)
    is blanked, not removed. The base's entries own does not set follow, cut from its text
    (comments included), re-indented as own's; their origins are the second value. Own giving
    another ``type:`` than the base keeps only the base's common keys. None when either text
    is not in block style (a ``{...}`` mapping cannot be cut into entries).
    """
    lines = own_text.splitlines()
    base_lines = base.text.splitlines()
    if not _block_style(lines, own) or not _block_style(base_lines, base.mapping):
        return None
    # Base entries go in at the indent of own's keys (a root mapping may be indented).
    width = _indent(lines[own.entries[0][0].line - 1]) if own.entries else 0
    if not own.entries:  # comments, markers, `{}` or `~`: nothing of own's to keep
        lines = [""] * len(lines)
    own_type, base_type = _type_of(own), _type_of(base.mapping)
    keep: Iterable[str] | None = None
    if own_type is not None and base_type is not None and own_type != base_type:
        keep = COMMON_KEYS
    base_keys = {key.raw for key, _ in base.mapping.entries if keep is None or key.raw in keep}
    given = {key.raw for key, value in own.entries if not _empty(value)}
    for (key, value), span in zip(own.entries, _spans(lines, own), strict=True):
        if _empty(value) and key.raw in base_keys and key.raw not in given:
            for number in span:  # "the template's value": the base's entry follows instead
                lines[number - 1] = ""
    for i, line in enumerate(lines):
        if _END.match(line):  # a document end would end the mapping before the base's keys
            lines[i] = ""
    origins: list[Origin] = []
    for (key, _), span in zip(base.mapping.entries, _spans(base_lines, base.mapping), strict=True):
        if key.raw not in base_keys or key.raw in given:
            continue
        cut = _indent(base_lines[key.line - 1])
        for number in span:
            line = base_lines[number - 1]
            if _MARKER.match(line):
                continue
            if line[:cut].strip(" ") == "":
                line = " " * width + line[cut:]
            lines.append(line)
            origins.append(base.origin[number - 1])
    return lines, origins


def _load_map(text: str) -> YMap | None:
    try:
        node = load_yaml(text)
    except YamlError:
        return None
    if node is None:
        return YMap((), 1)
    return node if isinstance(node, YMap) else None


_FIRST_ON = re.compile(r"\(first on line (\d+)\)")


def _moved(
    problems: Iterable[TaskProblem],
    task: str,
    own_lines: int,
    appended: Sequence[Origin],
    whole: str,
) -> list[TaskProblem]:
    """schedule.yaml problems found in spliced text, pointing at the files their lines came from.

    Lines up to ``own_lines`` are the task's own; later ones are ``appended``; a problem about
    the whole text goes to ``whole``.
    """

    def where(line: int) -> Origin | None:
        if line <= own_lines:
            return (SCHEDULE_FILE, line)
        index = line - own_lines - 1
        return appended[index] if index < len(appended) else None

    out: list[TaskProblem] = []
    for p in problems:
        if p.line is None:
            out.append(TaskProblem(task, whole, None, p.message))
            continue
        origin = where(p.line)
        if origin is None:
            out.append(TaskProblem(task, whole, None, p.message))
            continue
        file, line = origin

        def first_on(m: re.Match[str], file: str = file) -> str:
            at = where(int(m[1]))
            if at is None:
                return m[0]
            return f"(first on line {at[1]})" if at[0] == file else f"(first in {at[0]}:{at[1]})"

        out.append(TaskProblem(task, file, line, _FIRST_ON.sub(first_on, p.message)))
    return out


# -- resolution -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Own:
    """One template's own files, parsed."""

    #: config.yaml, tagged, without ``extends:``; empty when it has none (or is broken).
    config: YMap
    #: ``extends:``'s value and its key's line (the first one given), if any.
    extends: tuple[YNode, int] | None
    schedule: tuple[str, YMap] | None
    prompt: str | None
    problems: tuple[TaskProblem, ...]


@dataclass(frozen=True, slots=True)
class Resolved:
    """A template with all it extends applied: what a task extending it takes."""

    name: str
    #: The template, then what it extends, and so on; names not found, or looped back to, too
    #: (a task must be read again when one of them appears or changes).
    chain: tuple[str, ...]
    #: config.yaml keys, merged along the chain, tagged with their templates' files.
    config: YMap
    schedule: Layered | None
    #: The nearest prompt.txt: its text and its file.
    prompt: tuple[str, str] | None
    #: What is wrong along the chain (task name ""): every task extending it has these.
    problems: tuple[TaskProblem, ...]


class Templates:
    """The templates of one tasks dir as read (see :func:`read_templates`), resolved on demand.

    Immutable in what it says; it caches resolutions and what tasks share. It pickles as its
    sources (the caches are rebuilt where it lands). Equal sources: equal templates.
    """

    def __init__(self, sources: Sequence[TemplateSource] = ()) -> None:
        self.sources: dict[str, TemplateSource] = {s.name: s for s in sources}
        self._own: dict[str, _Own] = {}
        self._resolved: dict[str, Resolved] = {}
        self._under: dict[str, tuple[Defaults | None, Defaults]] = {}
        self._alone: dict[str, tuple[Schedule | None, list[TaskProblem]]] = {}
        self._over: dict[tuple[str, str], tuple[Schedule | None, list[TaskProblem]]] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Templates, (tuple(self.sources.values()),))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Templates) and other.sources == self.sources

    def __hash__(self) -> int:
        return hash(tuple(self.sources.values()))

    def __repr__(self) -> str:
        return f"Templates({list(self.sources)!r})"

    def names(self) -> list[str]:
        """Template names, sorted."""
        return list(self.sources)

    def changed_since(self, older: Templates) -> set[str]:
        """Names of the templates added, removed or edited since ``older``."""
        names = self.sources.keys() | older.sources.keys()
        return {n for n in names if self.sources.get(n) != older.sources.get(n)}

    # -- one template --------------------------------------------------------------------------

    def _parsed(self, name: str) -> _Own:
        own = self._own.get(name)
        if own is None:
            own = self._own[name] = _parse_own(self.sources[name])
        return own

    def resolve(self, name: str) -> Resolved:
        """Template ``name`` (which must exist) with its chain applied; computed once."""
        got = self._resolved.get(name)
        if got is None:
            with self._lock:  # loads of one folder may run in threads at once
                got = self._resolved.get(name) or self._resolve(name)
                self._resolved[name] = got
        return got

    def _resolve(self, name: str) -> Resolved:
        path = [name]  # the chain of templates found, nearest first
        chain = [name]
        problems: list[TaskProblem] = []
        while True:
            current = path[-1]
            own = self._parsed(current)
            problems.extend(own.problems)
            if own.extends is None:
                break
            node, line = own.extends
            report = Report("", template_file(current, CONFIG_FILE))
            wanted = _wanted(node, line, report, self.names())
            problems.extend(report.problems)
            if wanted is None:
                break
            if wanted in path:
                problems.append(self._loop(path[path.index(wanted) :]))
                break
            chain.append(wanted)
            if wanted not in self.sources:
                break
            path.append(wanted)
        config = YMap((), 1)
        schedule: Layered | None = None
        for current in reversed(path):
            own = self._parsed(current)
            config = merge_defaults(config, own.config)
            if own.schedule is not None:
                schedule = self._layer(current, own.schedule, schedule, problems)
        prompt: tuple[str, str] | None = None
        for current in path:  # the nearest prompt.txt, whole
            text = self._parsed(current).prompt
            if text is not None:
                prompt = (text, template_file(current, PROMPT_FILE))
                break
        unique = list(dict.fromkeys(problems))  # a loop is found once from each of its members
        return Resolved(name, tuple(chain), config, schedule, prompt, tuple(unique))

    def _loop(self, cycle: list[str]) -> TaskProblem:
        """The problem for a loop of templates, the same whichever member it is found from:
        named from its first name in order, at the ``extends:`` that leads back to it."""
        start = cycle.index(min(cycle))
        cycle = cycle[start:] + cycle[:start]
        last = cycle[-1]
        own = self._parsed(last)
        assert own.extends is not None
        shown = " -> ".join([*cycle, cycle[0]])
        file = template_file(last, CONFIG_FILE)
        return TaskProblem("", file, own.extends[1], f"extends: a loop of templates: {shown}")

    def _layer(
        self, name: str, own: tuple[str, YMap], base: Layered | None, problems: list[TaskProblem]
    ) -> Layered:
        text, mapping = own
        file = template_file(name, SCHEDULE_FILE)
        mine = tuple((file, n) for n in range(1, len(text.splitlines()) + 1))
        if base is None:
            return Layered(text, mapping, mine, file)
        cut = splice(text, mapping, base)
        combined = None if cut is None else "\n".join(cut[0]) + "\n"
        merged = None if combined is None else _load_map(combined)
        if cut is None or combined is None or merged is None:
            problems.append(TaskProblem("", file, 1, _not_block(base.file)))
            return Layered(text, mapping, mine, file)
        return Layered(combined, merged, (*mine, *cut[1]), file)

    # -- what tasks take -----------------------------------------------------------------------

    def defaults_for(self, template: Resolved, defaults: Defaults | None) -> Defaults:
        """bassi.yaml's ``defaults`` with ``template``'s config.yaml over them (cached)."""
        cached = self._under.get(template.name)
        if cached is not None and cached[0] is defaults:
            return cached[1]
        config = template.config
        if defaults is not None:
            config = merge_defaults(defaults.config, config)
        under = Defaults(config)
        self._under[template.name] = (defaults, under)
        return under

    def schedule_of(
        self, task: str, template: Resolved
    ) -> tuple[Schedule | None, list[TaskProblem]]:
        """The schedule of a task with no schedule.yaml of its own: the template's (cached)."""
        layer = template.schedule
        assert layer is not None
        cached = self._alone.get(template.name)
        if cached is None:
            schedule, found = parse_schedule("", layer.text)
            cached = self._alone[template.name] = (
                schedule,
                _moved(found, "", 0, layer.origin, layer.file),
            )
        schedule, problems = cached
        return schedule, relocated(problems, task)

    def schedule_over(
        self, task: str, text: str, template: Resolved
    ) -> tuple[Schedule | None, list[TaskProblem]]:
        """The schedule of a task's own schedule.yaml ``text`` over its template's.

        Remembered by text: tasks that all say ``time: "10:30"`` over one template are read once.
        """
        key = (template.name, text)
        cached = self._over.get(key)
        if cached is None:
            cached = self._schedule_over(text, template)
            if len(self._over) >= _REMEMBERED:  # edits keep adding texts: start afresh now and then
                self._over.clear()
            self._over[key] = cached
        schedule, problems = cached
        return schedule, relocated(problems, task)

    def _schedule_over(
        self, text: str, template: Resolved
    ) -> tuple[Schedule | None, list[TaskProblem]]:
        layer = template.schedule
        assert layer is not None
        own = _load_map(text)
        if own is None:  # bad YAML, or not a mapping: as if there were no template
            return parse_schedule("", text)
        cut = splice(text, own, layer)
        if cut is None:
            return None, [TaskProblem("", SCHEDULE_FILE, 1, _not_block(layer.file))]
        lines, appended = cut
        own_lines = len(lines) - len(appended)
        schedule, found = parse_schedule("", "\n".join(lines) + "\n")
        return schedule, _moved(found, "", own_lines, appended, SCHEDULE_FILE)

    def check(self, name: str) -> list[TaskProblem]:
        """What is wrong with template ``name`` by itself (``bassi-tui check``, for a template no
        task extends): its chain's problems and its config.yaml values, checked as a config
        with no task folder (paths as written). Its schedule.yaml is not: it may lack ``type:``,
        which its tasks would give."""
        template = self.resolve(name)
        report = Report("", template_file(name, CONFIG_FILE))
        _, found = read_config(YMap((), 1), report, defaults=Defaults(template.config))
        return [*template.problems, *relocated(found)]


def _not_block(base_file: str) -> str:
    return (
        f"cannot take keys from {base_file} unless both are written as `key: value` lines "
        "(not one {...} mapping)"
    )


NO_TEMPLATES = Templates()
"""A tasks dir without templates."""


def _parse_own(source: TemplateSource) -> _Own:
    name = source.name
    problems: list[TaskProblem] = []
    mappings: dict[str, tuple[str, YMap]] = {}
    for file, read in ((SCHEDULE_FILE, source.schedule), (CONFIG_FILE, source.config)):
        if isinstance(read, TaskProblem):
            problems.append(read)
        elif read is not None:
            report = Report("", template_file(name, file))
            mapping = load_mapping(read, report, empty_message=None)
            problems.extend(report.problems)
            if mapping is not None:
                mappings[file] = (read, mapping)
    config = YMap((), 1)
    extends: tuple[YNode, int] | None = None
    if CONFIG_FILE in mappings:
        tagged = _tagged(mappings[CONFIG_FILE][1], template_file(name, CONFIG_FILE))
        assert isinstance(tagged, YMap)
        for key, value in tagged.entries:
            if key.raw == EXTENDS and extends is None:
                extends = (value, int(key.line))
        entries = tuple(entry for entry in tagged.entries if entry[0].raw != EXTENDS)
        config = YMap(entries, tagged.line)
    prompt: str | None = None
    if isinstance(source.prompt, TaskProblem):
        problems.append(source.prompt)
    elif source.prompt is not None:
        prompt = source.prompt
    return _Own(config, extends, mappings.get(SCHEDULE_FILE), prompt, tuple(problems))


def _wanted(node: YNode, line: int, report: Report, names: Sequence[str]) -> str | None:
    """The template an ``extends:`` value names, or None (nothing, or a bad value: reported).

    A name that does not exist is reported and returned all the same (it is still what the
    task waits for: creating it must read the task again).
    """
    if isinstance(node, YScalar) and node.is_null:
        return None  # an empty key means "the default": no template
    if not isinstance(node, YScalar) or not isinstance(node.value, str) or not node.raw.strip():
        got = kind(node) if not isinstance(node, YScalar) or node.raw.strip() else "an empty name"
        report.add(line, f"extends: {_EXPECT_NAME}, got {got}")
        return None
    name = node.raw.strip()
    if name not in names:
        close = close_match(name, names)
        hint = f" (did you mean '{close}'?)" if close else ""
        listed = ", ".join(names[:_LISTED]) + (", ..." if len(names) > _LISTED else "")
        there = f"there are: {listed}" if names else "there are none"
        report.add(line, f"extends: '{name}' not found in {TEMPLATES_DIR}/{hint}; {there}")
    return name


@dataclass(frozen=True, slots=True)
class Extends:
    """What a task's ``extends:`` came to."""

    #: The template named, as written.
    name: str
    #: The template and everything it extends, found or not: the task depends on them all.
    chain: tuple[str, ...]
    #: The template resolved; None when it does not exist (the task's problem says so).
    template: Resolved | None


def extended(mapping: YMap | None, templates: Templates, report: Report) -> Extends | None:
    """The template a task's config.yaml (``mapping``) extends, or None (it extends nothing).

    Problems with the ``extends:`` value itself (not a name, not found) go into ``report``,
    the task's config.yaml's. The template's own problems are in ``Extends.template``.
    """
    if mapping is None:
        return None
    for key, value in mapping.entries:
        if key.raw == EXTENDS:
            name = _wanted(value, key.line, report, templates.names())
            if name is None:
                return None
            if name not in templates.sources:
                return Extends(name, (name,), None)
            template = templates.resolve(name)
            return Extends(name, template.chain, template)
    return None


# -- the engine's view ------------------------------------------------------------------------


class TemplateKeeper:
    """The templates in force for an engine, and which tasks use which.

    ``refresh`` reads .templates/ again and says which templates changed; ``users_of`` says
    which tasks must be read again for them (those extending them, directly or through another
    template). Task loads may note their chains from threads, hence the lock.
    """

    def __init__(self, tasks_dir: Path) -> None:
        self.tasks_dir = tasks_dir
        #: The templates tasks are read with now.
        self.current: Templates = NO_TEMPLATES
        self._uses: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def refresh(self) -> set[str]:
        """Read .templates/ again (blocking I/O: call it in a thread); the names that changed.

        Comparing the files' text, not their time stamps, makes a watcher's second event for
        one save, or an edit undone, cost a few small reads and nothing else.
        """
        fresh = read_templates(self.tasks_dir)
        changed = fresh.changed_since(self.current)
        if changed:
            self.current = fresh
        return changed

    def note(self, task: str, chain: tuple[str, ...]) -> None:
        """Task ``task`` was read, extending ``chain`` (empty: nothing)."""
        with self._lock:
            if chain:
                self._uses[task] = chain
            else:
                self._uses.pop(task, None)

    def forget(self, task: str) -> None:
        """Task ``task`` is gone."""
        self.note(task, ())

    def users_of(self, names: Iterable[str]) -> set[str]:
        """The tasks whose chain holds any of the template ``names``."""
        wanted = set(names)
        with self._lock:
            return {task for task, chain in self._uses.items() if wanted.intersection(chain)}
