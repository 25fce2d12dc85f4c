"""Figures measured in other processes: memory (a fresh interpreter) and idle CPU (the real app).

Run as a script it is the child of the memory figure:
``python bench/procs.py memory TASKS_DIR COUNT`` or ``python bench/procs.py baseline``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
if __name__ == "__main__":  # as a child: import the bench package from the repository root
    sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.common import (  # noqa: E402
    Row,
    Series,
    build_tree,
    make_safe_env,
    now,
    proc_cpu_s,
    proc_rss_mb,
    report,
    temp_dir,
)

# -- memory -----------------------------------------------------------------------------------


async def _child_memory(tasks_dir: Path, count: int) -> dict[str, float]:
    from bassi_tui.scheduler.engine import Engine
    from bassi_tui.ui.app import BassiApp
    from bassi_tui.ui.task_list import TaskList

    app = BassiApp(tasks_dir, engine=Engine(tasks_dir))
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        loaded = len(app.query_one(TaskList).names)
        rss, hwm = proc_rss_mb()
    return {"rss": rss, "hwm": hwm, "loaded": loaded}


def _child(argv: list[str]) -> None:
    make_safe_env()
    if argv[0] == "baseline":
        import textual.app  # noqa: F401  (the floor: an interpreter with Textual loaded)

        rss, hwm = proc_rss_mb()
        result: dict[str, float] = {"rss": rss, "hwm": hwm}
    else:
        result = asyncio.run(_child_memory(Path(argv[1]), int(argv[2])))
    print(json.dumps(result))


async def _run_child(*args: str) -> dict[str, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE), *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed: {err.decode(errors='replace')[-2000:]}")
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def bench_memory(count: int, reps: int) -> Row:
    """RSS of a fresh process with ``count`` tasks loaded in the app, beside bare Textual."""
    with temp_dir("memory") as root:
        build_tree(root, count)
        rss, hwm, base = [], [], []
        for _ in range(reps):
            base.append((await _run_child("baseline"))["rss"])
            got = await _run_child("memory", str(root), str(count))
            if got["loaded"] != count:
                raise RuntimeError(f"memory child loaded {got['loaded']} of {count} tasks")
            rss.append(got["rss"])
            hwm.append(got["hwm"])
    measured = Series(rss, "MB")
    return report(
        Row(
            f"memory: RSS, {count} tasks in the app",
            measured,
            Series(base, "MB"),
            "python+textual",
            "≤ 200 MB",
            measured.median <= 200,
            notes=[f"peak RSS (VmHWM) {Series(hwm, 'MB').span()}"],
        )
    )


# -- idle CPU ---------------------------------------------------------------------------------

BARE_TEXTUAL = """\
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static
class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("idle")
        yield Footer()
Bare().run()
"""


class PtyProcess:
    """A program on a pseudo-terminal of a fixed size whose output is read and dropped."""

    def __init__(
        self, argv: list[str], size: tuple[int, int] = (120, 36), marker: bytes | None = None
    ) -> None:
        #: When ``marker`` first appeared in the output (bench clock), if it was given and did.
        self.marker_at: float | None = None
        self.marker_seen = threading.Event()
        self._marker = marker
        self._tail = b""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.bytes_out = 0
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.bytes_out += len(data)
            if self._marker is not None and self.marker_at is None:
                seen = self._tail + data
                if self._marker in seen:
                    self.marker_at = now()
                    self.marker_seen.set()
                self._tail = seen[-len(self._marker) :]

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def stop(self, quit_keys: bytes | None = None) -> None:
        """Quit with ``quit_keys`` if given, else SIGTERM; SIGKILL if it will not go."""
        if self.proc.poll() is None and quit_keys:
            self.send(quit_keys)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.master)
        self._reader.join(5)


# -- launch -----------------------------------------------------------------------------------


async def _launch(argv: list[str], marker: bytes, quit_keys: bytes) -> float:
    """Seconds from starting ``argv`` on a pty to ``marker`` on its screen."""
    t0 = now()
    proc = PtyProcess(argv, marker=marker)
    try:
        seen = await asyncio.to_thread(proc.marker_seen.wait, 300)
        if not seen or proc.marker_at is None:
            raise TimeoutError(f"bench: {marker!r} never appeared on the screen of {argv}")
        return proc.marker_at - t0
    finally:
        proc.stop(quit_keys)


async def bench_launch(count: int, reps: int, target_s: float) -> Row:
    """The real command on a terminal: launch → the frame that shows all ``count`` tasks."""
    with temp_dir("launch") as root:
        build_tree(root, count)
        cli = [sys.executable, "-m", "bassi_tui", "--tasks-dir", str(root)]
        marker = f"Tasks · {count:,}".encode()
        await _launch(cli, marker, b"q")  # the first launch ever writes every next run
        app, bare = [], []
        for _ in range(reps):
            bare.append(await _launch([sys.executable, "-c", BARE_TEXTUAL], b"idle", b"\x11"))
            app.append(await _launch(cli, marker, b"q"))
    measured = Series(app, "s")
    return report(
        Row(
            f"start-up: `bassi-tui` launch → all {count:,} cards",
            measured,
            Series(bare, "s"),
            "bare Textual launch",
            f"≤ {target_s:g} s",
            measured.median <= target_s,
            notes=[
                "a new process on a pty: interpreter, imports, load, first frame with the count"
            ],
        )
    )


async def _wait_for_text(path: Path, text: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"bench: {text!r} never appeared in {path}")


async def bench_idle_cpu(count: int, seconds: float, windows: int) -> Row:
    """CPU of the real app (in a pty) with ``count`` idle tasks, beside an idle asyncio loop."""
    with temp_dir("idle") as root:
        tasks, log = root / "tasks", root / "bassi.log"
        build_tree(tasks, count)
        cli = [sys.executable, "-m", "bassi_tui", "--tasks-dir", str(tasks), "--log-file", str(log)]
        app = PtyProcess(cli)
        bare = PtyProcess([sys.executable, "-c", BARE_TEXTUAL])
        loop_only = subprocess.Popen(
            [sys.executable, "-c", "import asyncio; asyncio.run(asyncio.sleep(1e6))"]
        )
        try:
            await _wait_for_text(log, "Watching", 120)
            await asyncio.sleep(3.0)  # the start's queued events are handled by now
            pids = {"app": app.proc.pid, "bare": bare.proc.pid, "loop": loop_only.pid}
            shares: dict[str, list[float]] = {k: [] for k in pids}
            window = seconds / windows
            bytes_before = app.bytes_out
            for _ in range(windows):
                before = {k: proc_cpu_s(pid) for k, pid in pids.items()}
                await asyncio.sleep(window)
                for k, pid in pids.items():
                    shares[k].append((proc_cpu_s(pid) - before[k]) / window * 100)
            out_rate = (app.bytes_out - bytes_before) / seconds
        finally:
            app.stop(b"q")
            bare.stop(b"\x11")  # ctrl+q quits a bare Textual app
            loop_only.terminate()
            loop_only.wait(10)
    measured = Series(shares["app"], "%")
    total = sum(shares["app"]) / len(shares["app"])
    return report(
        Row(
            f"idle CPU: app, {count} tasks",
            measured,
            Series(shares["loop"], "%"),
            "idle asyncio loop",
            "≤ 1 % of a core",
            total <= 1.0,
            notes=[
                f"{windows} windows of {window:g} s; mean over {seconds:g} s {total:.2f} %; "
                f"a bare Textual app (Header, Static, Footer) beside it: "
                f"{Series(shares['bare'], '%').span()}; the app wrote {out_rate:,.0f} bytes/s "
                f"to its terminal"
            ],
        )
    )


if __name__ == "__main__":
    _child(sys.argv[1:])
