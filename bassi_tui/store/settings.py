"""bassi.yaml, the tasks dir's own settings: read, validated, and kept while it is broken.

The file is optional and sits next to the task folders. Today it holds two keys:

``defaults:``
    any config.yaml keys, applied under every task's own config.yaml (the task's value wins;
    mappings merge key by key: see :mod:`~bassi_tui.store.defaults`), so one set of notify
    channels, one model or one environment serves every task.
``handover:``
    true (the default) or false. When the app that schedules loses its terminal (SIGHUP: the
    SSH connection dropped, the tmux session was killed), it hands the schedules over to a
    detached ``bassi-tui --headless`` (see :mod:`~bassi_tui.scheduler.handover`); false makes
    it stop scheduling instead, as ``q`` does.
``max_concurrent:``
    at most this many runs at once across every task.
``prices:``
    ``MODEL: {input: .., output: .., cache_read: .., cache_write: ..}``, US dollars per million
    tokens, over the shipped table of :mod:`~bassi_tui.store.prices` key by key: a model the
    table knows may set one price (the others stay as shipped); a new one needs ``input`` and
    ``output`` (its cache prices default to 0.1 x and 1.25 x the input price).

``budget:``
    ``{daily_usd: X, monthly_usd: Y}``: every task together stops firing once their runs cost
    this much in the day or the month (see :mod:`~bassi_tui.store.spend`).
``workers:``
    ``{url: redis://HOST:PORT/DB}``: the Redis or Valkey server whose RQ workers run the tasks
    that say ``runs_on: LABEL``. The URL may hold a password: no message shows it.

Any other key is unknown, with a "did you mean".

``defaults:`` is validated on its own, as a config.yaml would be (with no task folder, so its
agent paths are checked as written); any problem makes the whole file broken. A broken
bassi.yaml changes nothing: :class:`SettingsKeeper` keeps the settings last read well (none at a
first start), and the caller shows the problems. Values from ``environment:`` are secrets as in
config.yaml: no message here or in the config reader contains one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bassi_tui.store.defaults import BASSI_FILE, Defaults, relocated, tagged
from bassi_tui.store.models import Budget, TaskProblem, fields_reduce
from bassi_tui.store.parse import FileRefused, read_task_file
from bassi_tui.store.parse_common import (
    Field,
    Report,
    fields,
    load_mapping,
    opt,
    read_bool,
    read_int,
    read_number,
    read_str,
)
from bassi_tui.store.parse_config import CONFIG_KEYS, parse_config, read_budget
from bassi_tui.store.prices import PRICES, Price, PriceTable
from bassi_tui.store.yamlio import YAML_MAX_BYTES, YMap, YScalar, kind

__all__ = [
    "BASSI_FILE",
    "TOP_KEYS",
    "Refreshed",
    "Settings",
    "SettingsKeeper",
    "parse_settings",
    "read_settings",
]

TOP_KEYS = ("defaults", "handover", "max_concurrent", "prices", "budget", "workers")
"""The keys bassi.yaml may hold today."""

WORKER_SCHEMES = ("redis", "rediss", "unix")
"""The URL schemes of ``workers.url`` (as redis-py reads them)."""

PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
"""The keys of one model's entry under ``prices:`` (US dollars per million tokens)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What a valid bassi.yaml says; the empty value is "no bassi.yaml"."""

    __reduce__ = fields_reduce

    #: config.yaml keys every task takes unless it sets them itself; None: no defaults.
    defaults: Defaults | None = None
    #: The scheduling app hands over to a detached ``--headless`` when its terminal is lost.
    handover: bool = True
    #: At most this many runs at once across every task (None: no limit).
    max_concurrent: int | None = None
    #: Model -> price: the shipped table with bassi.yaml ``prices:`` over it.
    prices: PriceTable = field(default_factory=lambda: PRICES)
    #: Every task together: what their runs may cost in a day and a month.
    budget: Budget = field(default_factory=Budget)
    #: ``workers.url``: the Redis server of the RQ workers; None: every run stays here.
    workers_url: str | None = None


def parse_settings(text: str) -> tuple[Settings, list[TaskProblem]]:
    """Parse and validate bassi.yaml text; problems name bassi.yaml and its lines.

    Problems carry the task name ``""``: they belong to the tasks dir, not to a task.
    """
    report = Report("", BASSI_FILE)
    mapping = load_mapping(text, report, empty_message=None)
    if mapping is None:
        return Settings(), report.problems
    got = fields(mapping, TOP_KEYS, report)
    defaults = opt(got, "defaults", lambda f: _defaults(f, report), None)
    handover = opt(got, "handover", lambda f: read_bool(f, report, "handover"), True)
    limit = opt(
        got, "max_concurrent", lambda f: read_int(f, report, "max_concurrent", minimum=1), None
    )
    prices = opt(got, "prices", lambda f: _prices(f, report), PRICES)
    budget = opt(got, "budget", lambda f: read_budget(f, report), Budget())
    workers = opt(got, "workers", lambda f: _workers(f, report), None)
    settings = Settings(
        defaults=defaults,
        handover=handover,
        max_concurrent=limit,
        prices=prices,
        budget=budget,
        workers_url=workers,
    )
    return settings, relocated(report.sorted())


def _defaults(f: Field, report: Report) -> Defaults | None:
    if not isinstance(f.node, YMap):
        report.add(
            f.line,
            f"defaults: expected a mapping of config.yaml keys ({', '.join(CONFIG_KEYS[:4])}, "
            f"...), got {kind(f.node)}",
        )
        return None
    defaults = Defaults(tagged(f.node))
    # The one config.yaml reader checks them: an empty config.yaml with these defaults under it.
    _, found = parse_config("", "", BASSI_FILE, defaults=defaults)
    for problem in found:
        report.add(problem.line, f"defaults: {problem.message}")
    return defaults


def _workers(f: Field, report: Report) -> str | None:
    """``workers: {url: redis://HOST:PORT/DB}``; the URL is never repeated (it may hold a
    password), only its scheme."""
    if not isinstance(f.node, YMap):
        report.add(f.line, f"workers: expected a mapping like {{url: {_WORKERS_EXAMPLE}}}")
        return None
    got = fields(f.node, ("url",), report, prefix="workers.")
    if "url" not in got:
        report.add(f.line, f"workers: needs url, e.g. {{url: {_WORKERS_EXAMPLE}}}")
        return None
    url = read_str(got["url"], report, "workers.url", non_empty=True)
    if url is None:
        return None
    scheme = urlsplit(url.strip()).scheme
    if scheme not in WORKER_SCHEMES:
        said = f"'{scheme}://'" if scheme else "no scheme"
        report.add(
            got["url"].line,
            f"workers.url: expected a redis:// (or rediss://, unix://) URL, got {said}, "
            f"e.g. {_WORKERS_EXAMPLE}",
        )
        return None
    return url.strip()


_WORKERS_EXAMPLE = "redis://127.0.0.1:6379/0"


def _prices(f: Field, report: Report) -> PriceTable | None:
    """``prices:`` over the shipped table; None (the shipped table) when nothing is valid."""
    example = "a mapping of model names to {input: USD per million tokens, output: ...}"
    if not isinstance(f.node, YMap):
        report.add(f.line, f"prices: expected {example}, got {kind(f.node)}")
        return None
    table = dict(PRICES)
    seen: dict[str, int] = {}
    for key, node in f.node.entries:
        model = key.raw
        if model in seen:
            report.add(key.line, f"duplicate model 'prices.{model}' (first on line {seen[model]})")
            continue
        seen[model] = key.line
        if (price := _price(model, Field(model, key.line, node), report)) is not None:
            table[model] = price
    return table


def _price(model: str, f: Field, report: Report) -> Price | None:
    """One model's entry: over its shipped price, or a new one with ``input`` and ``output``."""
    label = f"prices.{model}"
    if not isinstance(f.node, YMap):
        got = kind(f.node)
        report.add(f.line, f"{label}: expected a mapping of {', '.join(PRICE_KEYS)}, got {got}")
        return None
    found = len(report.problems)
    got_keys = fields(f.node, PRICE_KEYS, report, prefix=f"{label}.")
    values: dict[str, float] = {}
    for name, entry in got_keys.items():
        if isinstance(entry.node, YScalar) and entry.node.is_null:
            report.add(entry.line, f"{label}.{name}: expected a number >= 0, got nothing")
        elif (value := read_number(entry, report, f"{label}.{name}", minimum=0)) is not None:
            values[name] = value
    if len(report.problems) > found:  # a typo or a bad value: say that, not what is missing
        return None
    base = PRICES.get(model)
    if base is None:
        missing = [name for name in ("input", "output") if name not in values]
        if missing:
            report.add(
                f.line,
                f"{label}: a model with no shipped price needs {' and '.join(missing)} "
                "(USD per million tokens)",
            )
            return None
        base = Price.listed(values["input"], values["output"])
    return Price(
        values.get("input", base.input),
        values.get("output", base.output),
        values.get("cache_read", base.cache_read),
        values.get("cache_write", base.cache_write),
    )


Fingerprint = bytes | str | None
"""What bassi.yaml was when read: its bytes, why it could not be read, or None (no file)."""


def read_settings(tasks_dir: Path) -> tuple[Fingerprint, Settings, list[TaskProblem]]:
    """Read ``tasks_dir``/bassi.yaml as safely as a task file (see :mod:`~bassi_tui.store.parse`).

    No file is no settings and no problem. Returns what the file was (to tell a change), the
    settings and the problems; with any problem the settings are not to be used.
    """
    try:
        data = read_task_file(tasks_dir, BASSI_FILE, YAML_MAX_BYTES)
    except FileNotFoundError:
        return None, Settings(), []
    except FileRefused as exc:
        return str(exc), Settings(), [TaskProblem("", BASSI_FILE, None, str(exc))]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"{BASSI_FILE} is not valid UTF-8 (byte {data[exc.start]:#04x}); expected UTF-8"
        return data, Settings(), [TaskProblem("", BASSI_FILE, line, message)]
    settings, problems = parse_settings(text)
    return data, settings, problems


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What reading bassi.yaml again came to."""

    #: bassi.yaml is broken: what is wrong with it (the settings in force did not change).
    problems: tuple[TaskProblem, ...] = ()
    #: The defaults in force changed: every task must be read again.
    changed: bool = False
    #: It was broken when last read and is valid now.
    recovered: bool = False


class SettingsKeeper:
    """bassi.yaml as last read well: a broken one leaves the settings in force as they were."""

    def __init__(self, tasks_dir: Path) -> None:
        self.tasks_dir = tasks_dir
        #: The settings in force: those of the last valid read (none before one).
        self.settings = Settings()
        #: The problems of the last read; empty when it was valid.
        self.problems: tuple[TaskProblem, ...] = ()
        self._seen: Fingerprint | object = _UNREAD

    @property
    def defaults(self) -> Defaults | None:
        """The defaults in force, for the task loaders."""
        return self.settings.defaults

    def refresh(self) -> Refreshed | None:
        """Read bassi.yaml again (blocking I/O: call it in a thread); None when it is as last read.

        Comparing the file's bytes, not its time stamps, makes a watcher's second event for
        one save, or an edit undone, cost one small read and nothing else.
        """
        seen, settings, problems = read_settings(self.tasks_dir)
        if seen == self._seen:
            return None
        self._seen = seen
        if problems:
            self.problems = tuple(problems)
            return Refreshed(problems=self.problems)
        recovered, self.problems = bool(self.problems), ()
        # Only the defaults shape tasks: turning handover on or off re-reads none of them.
        changed = settings.defaults != self.settings.defaults
        self.settings = settings
        return Refreshed(changed=changed, recovered=recovered)


_UNREAD = object()
