"""Command line: parse arguments, build the engine, then run the app, headless loop or a command.

    bassi-tui [--tasks-dir DIR] [--log-file PATH] [--headless] [--demo] [--poll]
    bassi-tui check [DIR]
    bassi-tui next TASK [-n N]
    bassi-tui run TASK

The tasks dir is ``--tasks-dir``, else ``$BASSI_TASKS_DIR``, else ``~/.bassi/tasks-scheduler``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bassi_tui import __version__

if TYPE_CHECKING:
    from bassi_tui.scheduler.lock import InstanceLock
    from bassi_tui.store.preload import Preload

DEFAULT_TASKS_DIR = Path("~/.bassi/tasks-scheduler")


def resolve_tasks_dir(arg: str | None) -> Path:
    """--tasks-dir, then $BASSI_TASKS_DIR, then ~/.bassi/tasks-scheduler."""
    raw = arg or os.environ.get("BASSI_TASKS_DIR") or str(DEFAULT_TASKS_DIR)
    return Path(raw).expanduser().resolve()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (a function so tests and --help share it)."""
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
    parser.add_argument("--log-file", metavar="PATH", help="also write the log to this file")
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
    nxt = sub.add_parser("next", parents=[common], help="show a task's next fire times")
    nxt.add_argument("task", metavar="TASK")
    nxt.add_argument("-n", type=int, default=5, metavar="N", help="how many (default 5)")
    run = sub.add_parser("run", parents=[common], help="run one task now, streaming its output")
    run.add_argument("task", metavar="TASK")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bassi-tui`` script; returns the exit code."""
    args = build_parser().parse_args(argv)
    tasks_arg: str | None = getattr(args, "tasks_dir", None)
    if args.command == "check":
        from bassi_tui.commands import check_command

        return check_command(resolve_tasks_dir(args.dir or tasks_arg))
    if args.command == "next":
        from bassi_tui.commands import next_command

        return next_command(resolve_tasks_dir(tasks_arg), args.task, args.n)
    if args.command == "run":
        from bassi_tui.commands import run_command

        return run_command(resolve_tasks_dir(tasks_arg), args.task)

    from bassi_tui.scheduler.logbridge import configure_logging

    if args.demo and tasks_arg is None:
        from bassi_tui.demo import default_demo_dir, ensure_demo_tasks

        tasks_dir = ensure_demo_tasks(default_demo_dir())
    else:
        tasks_dir = resolve_tasks_dir(tasks_arg)
        if args.demo:
            from bassi_tui.demo import ensure_demo_tasks

            ensure_demo_tasks(tasks_dir)
    if args.headless:
        configure_logging(to_stderr=True, log_file=args.log_file)
        return asyncio.run(_headless(tasks_dir, args.poll, *_read_ahead(tasks_dir)))
    lock, preload = _read_ahead(tasks_dir)  # the workers read while the UI is imported
    log_file = args.log_file or str(Path("~/.bassi/bassi-tui.log").expanduser())
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    configure_logging(to_stderr=False, log_file=log_file)
    from bassi_tui.ui.app import BassiApp

    app = BassiApp(tasks_dir, force_polling=args.poll, demo=args.demo, lock=lock, preload=preload)
    app.run()
    return app.return_code or 0


def _read_ahead(tasks_dir: Path) -> tuple[InstanceLock, Preload | None]:
    """Take the instance lock (or not: monitor) and start reading the task folders ahead."""
    from bassi_tui.scheduler.lock import InstanceLock
    from bassi_tui.store.preload import Preload

    tasks_dir.mkdir(parents=True, exist_ok=True)
    lock = InstanceLock(tasks_dir)
    return lock, Preload.begin(tasks_dir, recover=lock.try_acquire())


async def _headless(
    tasks_dir: Path, poll: bool, lock: InstanceLock, preload: Preload | None
) -> int:
    from bassi_tui.scheduler.engine import Engine
    from bassi_tui.scheduler.logbridge import log_events

    engine = Engine(tasks_dir, force_polling=poll, lock=lock, preload=preload)
    engine.subscribe(log_events)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await engine.start()
    started = datetime.now(UTC)
    try:
        await stop.wait()
    finally:
        await engine.stop()
    uptime = (datetime.now(UTC) - started).total_seconds()
    print(f"bassi-tui stopped after {uptime:.0f} s", file=sys.stderr)
    return 0
