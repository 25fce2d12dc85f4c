"""The offline demo: example tasks on the ``echo`` executor, and one agent that acts.

The agent task runs the real agent path against a scripted stand-in for the model
(:mod:`bassi_tui.demo_model`), so it works with no key and no network.

Created under ``~/.bassi/demo-tasks`` (never the real tasks dir). Files that already exist are
left alone, so a newcomer's edits to the demo survive the next ``bassi-tui --demo``.
"""

from __future__ import annotations

from pathlib import Path

DEMO_TASKS: dict[str, dict[str, str]] = {
    "hello-every-5s": {
        "schedule.yaml": "# Fires every 5 seconds. Try `p` to pause it and `r` to run it now.\n"
        "type: interval\nseconds: 5\n",
        "prompt.txt": "Hello from {task_name}!\nIt is {weekday}, {date} at {time}.\n"
        "Last run: {last_run_date} (success: {last_run_success}).\n",
        "config.yaml": "executor: echo   # offline: the result is the expanded prompt\n",
    },
    "haiku-every-30s": {
        "schedule.yaml": "type: interval\nseconds: 30\njitter: 2\n",
        "prompt.txt": "Write a haiku about {weekday} mornings.\n\n"
        "(With executor: anthropic and ANTHROPIC_API_KEY set, Claude would answer here.)\n",
        "config.yaml": "executor: echo\noutput:\n  format: markdown\n  keep_history: 7\n",
    },
    "weekly-report": {
        "schedule.yaml": 'type: weekly\nday: [monday, thursday]\ntime: "09:00"\n'
        "timezone: Europe/Berlin\n",
        "prompt.txt": 'Summarise the week up to {date} as JSON: {"highlights": [], "risks": []}\n',
        "config.yaml": "executor: echo\ntimeout: 120\n",
    },
    "agent-notes": {
        "schedule.yaml": "# An agent that acts: press r to run it now, then look in its\n"
        "# workspace/_RESULTS_FROM_AGENT/ folder.\n"
        "type: interval\nminutes: 10\n",
        "prompt.txt": "Write a short note about {weekday} {date} to _RESULTS_FROM_AGENT/note.md.\n",
        "config.yaml": "# In the demo a scripted stand-in plays the model (offline, no key);\n"
        "# the tools, the files and the records are real. Outside --demo, Claude does.\n"
        "executor: agent\ntools: [read, write]\nmax_turns: 4\n",
    },
    "watch-for-change": {
        "schedule.yaml": "# Tells you when its answer changes (once a minute here): see the log\n"
        "# (l), and press d in the viewer to see what changed since the last success.\n"
        "type: interval\nseconds: 20\n",
        "prompt.txt": "Status at {time}: all systems normal.\n",
        "config.yaml": "executor: echo\n"
        "expect:                  # a run whose output fails a check ends check_failed\n"
        "  contains: all systems normal\n"
        "notify:\n"
        "  on_change: true        # also tell when a success differs from the one before\n"
        "  channels: [log]        # or any Apprise URL: ntfy://…, mailto://…, json://host/path\n",
    },
    "broken-on-purpose": {
        "schedule.yaml": "# This task is broken on purpose: fix the typo below (tiem -> time)\n"
        "# and watch it come back to life without a restart.\n"
        'type: daily\ntiem: "07:30"\n',
        "prompt.txt": "Good morning! Today is {weekday}.\n",
        "config.yaml": "executor: echo\n",
    },
}


def default_demo_dir() -> Path:
    """``~/.bassi/demo-tasks``."""
    return Path.home() / ".bassi" / "demo-tasks"


def ensure_demo_tasks(folder: Path) -> Path:
    """Create the demo tasks in ``folder`` where missing; return the folder."""
    for name, files in DEMO_TASKS.items():
        task_dir = folder / name
        task_dir.mkdir(parents=True, exist_ok=True)
        for filename, text in files.items():
            path = task_dir / filename
            if not path.exists():
                path.write_text(text, encoding="utf-8")
    return folder
