"""What `days:` and `skip_holidays:` cost: the `holidays` import, and per task.

    .venv/bin/python bench/calendars.py

Each figure runs in a fresh interpreter (the import and the first calendar are once per process),
several times, printed as ``median (min..max)``. Nothing asserts. Figures:

- ``import holidays`` alone, and what the first task with ``skip_holidays`` pays for it in all
  (import, the list of supported codes, its first calendar);
- parsing 1,000 schedule.yaml files: plain daily, ``days: weekdays``, ``skip_holidays: DE-BY``
  (the one-time cost included, and without it: per task);
- the next fire of 1,000 triggers, with and without the filter;
- reading 1,000 task folders (``load_folders`` in one process), with and without holidays: the
  first time in a process, and again (best of 3), which leaves the one-time costs out.

The machine's load shows in the spans; compare medians of runs made together.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPS = 5
N = 1000

PLAIN = 'type: daily\ntime: "09:00"\ntimezone: Europe/Berlin\n'
WEEKDAYS = PLAIN + "days: weekdays\n"
HOLIDAYS = WEEKDAYS + "skip_holidays: DE-BY\n"
KINDS = (("plain daily", PLAIN), ("days: weekdays", WEEKDAYS), ("+ DE-BY", HOLIDAYS))

_PROBE = r"""
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, sys.argv[1])
what, text, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
out = {}
if what == "import":
    t = time.perf_counter(); import holidays; out["import"] = time.perf_counter() - t
elif what == "parse":
    from bassi_tui.store.parse_schedule import parse_schedule
    t = time.perf_counter(); parse_schedule("t0", text); out["first"] = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(1, n):
        parse_schedule(f"t{i}", text)
    out["rest"] = (time.perf_counter() - t) / (n - 1)
    out["holidays_imported"] = "holidays" in sys.modules
elif what == "next":
    from bassi_tui.store.parse_schedule import parse_schedule
    from bassi_tui.scheduler.triggers import next_fire_times
    schedule, _ = parse_schedule("t", text)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    t = time.perf_counter(); next_fire_times(schedule, 1, now=now)
    out["first"] = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(n):
        next_fire_times(schedule, 1, now=now)
    out["rest"] = (time.perf_counter() - t) / n
elif what == "load":
    from bassi_tui.store.loading import list_task_folders, load_folders
    root = Path(sys.argv[5])
    names = list_task_folders(root)
    t = time.perf_counter(); got = load_folders(root, names, parallel=False)
    out["first"] = time.perf_counter() - t
    assert all(x.task.ok for x in got), [x.task for x in got if not x.task.ok][:1]
    again = []
    for _ in range(3):
        t = time.perf_counter(); load_folders(root, names, parallel=False)
        again.append(time.perf_counter() - t)
    out["again"] = min(again)
print(json.dumps(out))
"""


def probe(what: str, text: str = "", n: int = N, extra: str = "") -> list[dict[str, float]]:
    runs = []
    for _ in range(REPS):
        argv = [sys.executable, "-c", _PROBE, str(ROOT), what, text, str(n), extra]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
    return runs


def span(values: list[float], scale: float, unit: str) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):8.3f} {unit} ({min(v):.3f}..{max(v):.3f})"


def tree(root: Path, schedule: str) -> Path:
    for i in range(N):
        folder = root / f"task-{i:04d}"
        folder.mkdir(parents=True)
        (folder / "schedule.yaml").write_text(schedule)
        (folder / "prompt.txt").write_text("Hello {task_name}\n")
        (folder / "config.yaml").write_text("executor: echo\n")
    return root


def main() -> None:
    runs = probe("import")
    print(f"import holidays                      {span([r['import'] for r in runs], 1e3, 'ms')}")
    for label, text in KINDS:
        runs = probe("parse", text)
        assert runs[0]["holidays_imported"] == (text == HOLIDAYS)
        print(f"parse, first task, {label:17} {span([r['first'] for r in runs], 1e3, 'ms')}")
        print(f"parse, per task,   {label:17} {span([r['rest'] for r in runs], 1e6, 'us')}")
    for label, text in KINDS:
        runs = probe("next", text)
        print(f"next fire, first,  {label:17} {span([r['first'] for r in runs], 1e3, 'ms')}")
        print(f"next fire, each,   {label:17} {span([r['rest'] for r in runs], 1e6, 'us')}")
    for label, text in (("plain daily", PLAIN), ("+ DE-BY", HOLIDAYS)):
        with tempfile.TemporaryDirectory(prefix="bassi-cal-") as tmp:
            root = tree(Path(tmp), text)
            runs = probe("load", extra=str(root))
        print(f"load {N} folders,  {label:17} {span([r['first'] for r in runs], 1e3, 'ms')}")
        print(f"  again (warm),     {label:17} {span([r['again'] for r in runs], 1e3, 'ms')}")


if __name__ == "__main__":
    main()
