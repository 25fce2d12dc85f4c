"""Command line: parse arguments, build the engine, then run the app, headless loop or a command.

    bassi-tui [--tasks-dir DIR] [--log-file PATH] [--headless] [--demo] [--poll]
    bassi-tui check [DIR] [--json]
    bassi-tui next TASK [-n N] [--json]
    bassi-tui list [--json]
    bassi-tui stats [TASK] [--days N] [--json]
    bassi-tui run TASK
    bassi-tui stop [--timeout S]
    bassi-tui service install|uninstall|status
    bassi-tui migrate [SRC] [--dry-run]
    bassi-tui completion bash|zsh|fish
    bassi-tui worker --labels a,b [--url URL] [--name NAME]

The tasks dir is ``--tasks-dir``, else ``$BASSI_TASKS_DIR``, else ``~/.bassi/tasks-scheduler``.
Only that default is created when missing; a dir that was given must exist (a typo must not
start a scheduler of nothing), and every unusable dir is one line and exit code 2
(:mod:`bassi_tui.store.tasks_dir`). The app logs to :data:`DEFAULT_LOG_FILE` (or ``--log-file``),
headless to stderr (and ``--log-file``); the log file rotates (scheduler.logbridge).

A scheduling app that loses its terminal (SIGHUP) starts a detached ``--headless`` successor
with the hidden ``--successor-of PID``: it logs to the log file only, waits for the app to let go
of the instance lock and schedules from then on (:mod:`bassi_tui.scheduler.handover`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bassi_tui import __version__

if TYPE_CHECKING:
    from bassi_tui.scheduler.lock import InstanceLock
    from bassi_tui.store.preload import Preload

DEFAULT_TASKS_DIR = Path("~/.bassi/tasks-scheduler")

DEFAULT_LOG_FILE = Path("~/.bassi/bassi-tui.log")
"""The app's log file when no ``--log-file`` is given: the app draws on the terminal, so its log
goes here (rotated at 5 MiB, 3 backups kept). Headless logs to stderr, and to ``--log-file``."""

EXIT_USAGE = 2
"""Exit code for a tasks dir or log file that cannot be used (as argparse for bad arguments)."""

SUCCESSOR_FLAG = "--successor-of"  # scheduler.handover.SUCCESSOR_FLAG, without importing it
#: How long ``stop`` waits by default for the scheduler to let go of the lock.
STOP_TIMEOUT_S = 30.0


def resolve_tasks_dir(arg: str | None) -> Path:
    """--tasks-dir, then $BASSI_TASKS_DIR, then ~/.bassi/tasks-scheduler."""
    raw = arg or os.environ.get("BASSI_TASKS_DIR") or str(DEFAULT_TASKS_DIR)
    return Path(raw).expanduser().resolve()


def tasks_dir_given(arg: str | None) -> bool:
    """True when the tasks dir was named (--tasks-dir or $BASSI_TASKS_DIR), not the default."""
    return bool(arg or os.environ.get("BASSI_TASKS_DIR"))


def _usable_tasks_dir(path: Path, *, create: bool, write: bool) -> bool | None:
    """prepare_tasks_dir, its error printed as one line: None when unusable, else "created"."""
    from bassi_tui.store.tasks_dir import TasksDirError, prepare_tasks_dir

    try:
        return prepare_tasks_dir(path, create=create, write=write)
    except TasksDirError as exc:
        print(f"bassi-tui: {exc}", file=sys.stderr)
        return None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (a function so tests and --help share it)."""
    # shtab's `.complete` for TASK (the shell lists the task folders); stdlib-only module.
    from bassi_tui.completion import SHELLS, TASK_NAMES, USAGE

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--tasks-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the tasks dir (default: $BASSI_TASKS_DIR or ~/.bassi/tasks-scheduler)",
    )
    parser = argparse.ArgumentParser(
        prog="bassi-tui",
        description="Run scheduled LLM prompts from plain task folders, and watch them.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"bassi-tui {__version__}")
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="write the log to this file, rotated at 5 MiB (app default: ~/.bassi/bassi-tui.log)",
    )
    parser.add_argument("--headless", action="store_true", help="run the engine with no UI")
    parser.add_argument(
        "--demo", action="store_true", help="use the offline demo tasks (~/.bassi/demo-tasks)"
    )
    parser.add_argument(
        "--poll", action="store_true", help="poll the tasks dir (network filesystems)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser("check", parents=[common], help="validate every task folder")
    check.add_argument("dir", nargs="?", metavar="DIR", help="tasks dir to check")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    nxt = sub.add_parser("next", parents=[common], help="show a task's next fire times")
    nxt.add_argument("task", metavar="TASK").complete = TASK_NAMES  # type: ignore[attr-defined]
    nxt.add_argument("-n", type=int, default=5, metavar="N", help="how many (default 5)")
    nxt.add_argument("--json", action="store_true", help="print one JSON document")
    listing = sub.add_parser("list", parents=[common], help="every task: next, last, runs, cost")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    stats = sub.add_parser(
        "stats", parents=[common], help="runs, success rate, durations, tokens, cost per day"
    )
    stats.add_argument(
        "task", nargs="?", metavar="TASK", help="one task (default: all)"
    ).complete = TASK_NAMES  # type: ignore[attr-defined]
    stats.add_argument("--days", type=int, default=7, metavar="N", help="how many days (7)")
    stats.add_argument("--json", action="store_true", help="print one JSON document")
    run = sub.add_parser("run", parents=[common], help="run one task now, streaming its output")
    run.add_argument("task", metavar="TASK").complete = TASK_NAMES  # type: ignore[attr-defined]
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the expanded prompt and the config in effect; send nothing",
    )
    stop = sub.add_parser(
        "stop", parents=[common], help="stop the instance that schedules the tasks dir"
    )
    stop.add_argument(
        "--timeout",
        type=float,
        default=STOP_TIMEOUT_S,
        metavar="S",
        help=f"seconds to wait for it to stop (default {STOP_TIMEOUT_S:.0f})",
    )
    service = sub.add_parser(
        "service",
        parents=[common],
        help="a systemd user service running --headless on the tasks dir",
    )
    service.add_argument("action", choices=("install", "uninstall", "status"))
    migrate = sub.add_parser(
        "migrate",
        parents=[common],
        help="turn the older JSON tasks (~/.bassi/tasks/*.json) into task folders",
    )
    migrate.add_argument(
        "src", nargs="?", metavar="SRC", help="old tasks dir or file (default: ~/.bassi/tasks)"
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="write nothing; print what would be done"
    )
    completion = sub.add_parser(
        "completion",
        help="print the shell completion script (bash, zsh or fish)",
        description=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=SHELLS)
    worker = sub.add_parser(
        "worker",
        help="an RQ worker that runs the runs_on tasks of the given labels on this host",
    )
    worker.add_argument(
        "--url",
        default=os.environ.get("BASSI_WORKERS_URL"),
        metavar="URL",
        help="the workers' Redis/Valkey, redis://HOST:PORT/DB (default: $BASSI_WORKERS_URL)",
    )
    worker.add_argument(
        "--labels", required=True, metavar="A,B", help="the runs_on labels this worker serves"
    )
    worker.add_argument(
        "--name", metavar="NAME", help="the worker's name (default: HOST-PID); unique per Redis"
    )
    # The hand-over's successor (see the module docstring); not for people to type.
    parser.add_argument(SUCCESSOR_FLAG, type=int, metavar="PID", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bassi-tui`` script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    tasks_arg: str | None = getattr(args, "tasks_dir", None)
    successor_of: int | None = args.successor_of
    if successor_of is not None and (not args.headless or args.command or args.demo):
        parser.error(f"{SUCCESSOR_FLAG} goes with --headless only")
    if args.command == "check":
        from bassi_tui.commands import check_command

        if args.json:
            from bassi_tui.commands_status import check_json_command

            return check_json_command(resolve_tasks_dir(args.dir or tasks_arg))
        return check_command(resolve_tasks_dir(args.dir or tasks_arg))
    if args.command in ("list", "stats"):
        return _status_command(args, resolve_tasks_dir(tasks_arg))
    if args.command in ("next", "run"):
        tasks_dir = resolve_tasks_dir(tasks_arg)
        # next only reads; run writes (its result, last_run.json, the lock). Neither creates.
        if _usable_tasks_dir(tasks_dir, create=False, write=args.command == "run") is None:
            return EXIT_USAGE
        if args.command == "next" and args.json:
            from bassi_tui.commands_status import next_json_command

            return next_json_command(tasks_dir, args.task, args.n)
        if args.command == "next":
            from bassi_tui.commands import next_command

            return next_command(tasks_dir, args.task, args.n)
        if args.dry_run:
            from bassi_tui.commands import dry_run_command

            return dry_run_command(tasks_dir, args.task)
        from bassi_tui.commands import run_command

        return run_command(tasks_dir, args.task)
    if args.command in ("stop", "service"):
        return _stay_up_command(args, tasks_arg)
    if args.command == "migrate":
        return _migrate_command(args, tasks_arg)
    if args.command == "completion":
        from bassi_tui.completion import completion_command

        return completion_command(parser, args.shell)
    if args.command == "worker":
        # Imported only here: rq and redis are the optional `workers` extra.
        try:
            from bassi_tui.workers.worker_cli import worker_command
        except ImportError as exc:
            print(
                f"bassi-tui worker: {exc}; install the extra: pip install -e '.[workers]'",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return worker_command(args.url, args.labels, args.name)

    import logging

    from bassi_tui.scheduler.logbridge import configure_logging

    # The log first, so that creating the tasks dir is logged; the app's default is a file.
    log_file = args.log_file
    if not args.headless and not log_file:
        log_file = str(DEFAULT_LOG_FILE.expanduser())
        with contextlib.suppress(OSError):  # if it fails, configure_logging will say why
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    try:
        # A successor's stderr is the log file itself (for a crash before logging starts).
        configure_logging(to_stderr=args.headless and successor_of is None, log_file=log_file)
    except OSError as exc:
        print(
            f"bassi-tui: cannot open the log file {log_file}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE

    demo_only = args.demo and tasks_arg is None
    if demo_only:
        from bassi_tui.demo import default_demo_dir

        tasks_dir = default_demo_dir()
    else:
        tasks_dir = resolve_tasks_dir(tasks_arg)
    # The default dir and a --demo dir are made when missing; a dir that was given is not.
    create = args.demo or not tasks_dir_given(tasks_arg)
    created = _usable_tasks_dir(tasks_dir, create=create, write=True)
    if created is None:
        return EXIT_USAGE
    if created:
        logging.getLogger("bassi_tui").info(
            "Created the tasks dir %s (it did not exist)", tasks_dir
        )
    if args.demo:
        from bassi_tui.demo import ensure_demo_tasks
        from bassi_tui.demo_model import DEMO_KEY, start_demo_model

        ensure_demo_tasks(tasks_dir)
        # The demo's agent task talks to a scripted stand-in on loopback, with a dummy key:
        # offline, and a real key in the environment is never sent anywhere.
        os.environ["ANTHROPIC_BASE_URL"] = start_demo_model().base_url
        os.environ["ANTHROPIC_API_KEY"] = DEMO_KEY
    if args.headless and successor_of is not None:
        taken = _succeed(tasks_dir, successor_of)
        if taken is None:
            return 0
        return asyncio.run(_headless(tasks_dir, args.poll, *taken, detached=True))
    if args.headless:
        return asyncio.run(_headless(tasks_dir, args.poll, *_read_ahead(tasks_dir)))
    lock, preload = _read_ahead(tasks_dir)  # the workers read while the UI is imported
    from bassi_tui.ui.app import BassiApp

    app = BassiApp(
        tasks_dir,
        force_polling=args.poll,
        demo=args.demo,
        lock=lock,
        preload=preload,
        handle_signals=True,
    )
    app.run()
    return app.return_code or 0


def _read_ahead(tasks_dir: Path) -> tuple[InstanceLock, Preload | None]:
    """Take the instance lock (or not: monitor) and start reading the task folders ahead."""
    from bassi_tui.scheduler.lock import InstanceLock
    from bassi_tui.store.preload import Preload

    lock = InstanceLock(tasks_dir)  # main has checked the dir (there, a folder, writable)
    return lock, Preload.begin(tasks_dir, recover=lock.try_acquire())


def _status_command(args: argparse.Namespace, tasks_dir: Path) -> int:
    """``list`` and ``stats``: see :mod:`bassi_tui.commands_status`. They only read."""
    from bassi_tui import commands_status

    if _usable_tasks_dir(tasks_dir, create=False, write=False) is None:
        return EXIT_USAGE
    if args.command == "list":
        return commands_status.list_command(tasks_dir, as_json=args.json)
    return commands_status.stats_command(tasks_dir, args.task, args.days, as_json=args.json)


def _stay_up_command(args: argparse.Namespace, tasks_arg: str | None) -> int:
    """``stop`` and ``service``: see :mod:`bassi_tui.service`."""
    from bassi_tui import service

    tasks_dir = resolve_tasks_dir(tasks_arg)
    if args.command == "stop":
        if _usable_tasks_dir(tasks_dir, create=False, write=False) is None:
            return EXIT_USAGE
        return service.stop_command(tasks_dir, timeout=args.timeout)
    # Installing for the default dir makes it, as the app would; a named dir must exist.
    create = args.action == "install" and not tasks_dir_given(tasks_arg)
    if _usable_tasks_dir(tasks_dir, create=create, write=args.action == "install") is None:
        return EXIT_USAGE
    return service.service_command(args.action, tasks_dir)


def _migrate_command(args: argparse.Namespace, tasks_arg: str | None) -> int:
    """``migrate``: see :mod:`bassi_tui.migrate`. The default tasks dir is made when missing (a
    dry run only reads); a named one must exist, as for the app."""
    from bassi_tui.migrate import OLD_TASKS_DIR, migrate_command

    tasks_dir = resolve_tasks_dir(tasks_arg)
    src = Path(args.src or OLD_TASKS_DIR).expanduser().resolve()
    given = tasks_dir_given(tasks_arg)
    missing_default = not given and not os.path.lexists(tasks_dir)
    # A missing SRC is said by migrate_command, before any tasks dir is made; a dry run into a
    # default dir yet to be made is fine (it would be made).
    if src.exists() and not (args.dry_run and missing_default):
        create = not given and not args.dry_run
        if _usable_tasks_dir(tasks_dir, create=create, write=not args.dry_run) is None:
            return EXIT_USAGE
    return migrate_command(src, tasks_dir, dry_run=args.dry_run)


def _succeed(tasks_dir: Path, app_pid: int) -> tuple[InstanceLock, Preload | None] | None:
    """The hand-over's successor: wait for the app ``app_pid`` to let go of the lock, and take
    it. None when another instance took it first (this one is not needed)."""
    import logging

    # Imported while the app quits, so that scheduling starts the moment the lock is free.
    import bassi_tui.scheduler.engine  # noqa: F401
    from bassi_tui.scheduler.handover import await_lock, signal_ready
    from bassi_tui.scheduler.lock import InstanceLock
    from bassi_tui.store.preload import Preload

    log = logging.getLogger("bassi_tui")
    lock = InstanceLock(tasks_dir)
    signal_ready()  # the app quits now: from here every 20 ms counts
    began = time.monotonic()
    awaited = await_lock(lock, app_pid)
    waited = time.monotonic() - began
    if awaited == "other":
        holder = lock.holder() or {}
        log.info(
            "Hand-over from the app (pid %d) not needed: pid %s on %s schedules %s now; exiting",
            app_pid,
            holder.get("pid", "?"),
            holder.get("host", "?"),
            tasks_dir,
        )
        return None
    if awaited == "timeout":
        log.warning(
            "The app (pid %d) still holds the lock of %s after %.0f s: monitoring until it exits",
            app_pid,
            tasks_dir,
            waited,
        )
    else:
        log.warning(
            "Took over from the app (pid %d), which lost its terminal (waited %.2f s for its "
            "lock): this detached bassi-tui (pid %d) schedules %s now; `bassi-tui stop` ends it",
            app_pid,
            waited,
            os.getpid(),
            tasks_dir,
        )
    return lock, Preload.begin(tasks_dir, recover=lock.held)


async def _headless(
    tasks_dir: Path,
    poll: bool,
    lock: InstanceLock,
    preload: Preload | None,
    *,
    detached: bool = False,
) -> int:
    from bassi_tui.scheduler.engine import Engine
    from bassi_tui.scheduler.logbridge import log_events
    from bassi_tui.scheduler.signals import on_stop_signals, signal_name

    engine = Engine(tasks_dir, force_polling=poll, lock=lock, preload=preload)
    engine.subscribe(log_events)
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if not stop.is_set():
            engine.say("info", f"{signal_name(signum)}: stopping (runs in flight are recorded)")
        stop.set()

    restore = on_stop_signals(on_signal)
    started = datetime.now(UTC)
    try:
        await engine.start()
        await stop.wait()
    finally:
        await engine.stop()
        restore()
    uptime = (datetime.now(UTC) - started).total_seconds()
    if detached:  # its stderr is the log file: a log record, not a bare line
        engine.say("info", f"bassi-tui (pid {os.getpid()}) stopped after {uptime:.0f} s")
    else:
        print(f"bassi-tui stopped after {uptime:.0f} s", file=sys.stderr)
    return 0
