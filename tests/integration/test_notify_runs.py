"""Runs tell people: real engines, real Apprise to a receiver on 127.0.0.1, command channels.

The engine runs the task, records it, then sends; these tests look at what the receiver got, at
the run's metadata and last_run.json, and at the events and log lines, never at mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bassi_tui.scheduler.engine import Engine
from bassi_tui.scheduler.events import LogLine, RunFinished, RunNotified
from tests.helpers import EventLog, make_task
from tests.receiver import Receiver, running_receiver

SECRET = "Sup3rSecretT0ken"
#: A command executor whose output is the first line of ``mode`` and which fails unless it is ok.
FLIP = (
    "import sys, pathlib; text = pathlib.Path(sys.argv[1]).read_text(); print(text); "
    "sys.exit(0 if text.startswith('ok') else 1)"
)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with running_receiver() as r:
        yield r


def flip_task(root: Path, name: str, notify: str, extra: str = "") -> tuple[Path, Path]:
    """A command task that prints ``mode``'s text and fails unless it starts with ok."""
    mode = root / f"{name}.mode"
    mode.write_text("ok")
    argv = json.dumps([sys.executable, "-c", FLIP, str(mode)])
    config = f"executor: command\ncommand: {argv}\nretry_on_failure: false\n{notify}{extra}"
    return make_task(root, name, config=config), mode


def secret_url(receiver: Receiver) -> str:
    return f"json://bassi:{SECRET}@127.0.0.1:{receiver.port}/hook"


async def run_once(engine: Engine, events: EventLog, name: str) -> RunFinished:
    mark = events.mark()
    assert engine.run_now(name)
    finished = await events.wait_for(
        lambda e: isinstance(e, RunFinished) and e.task == name, after=mark
    )
    assert isinstance(finished, RunFinished)
    return finished


async def told(events: EventLog, name: str, after: int) -> RunNotified:
    event = await events.wait_for(
        lambda e: isinstance(e, RunNotified) and e.task == name, after=after
    )
    assert isinstance(event, RunNotified)
    return event


def everything_written(folder: Path) -> str:
    """Every file the app wrote in a task folder: last_run.json and results/."""
    written = [folder / "last_run.json", *(folder / "results").iterdir()]
    return "\n".join(path.read_text(errors="replace") for path in written)


async def test_a_failure_reaches_a_webhook_and_the_run_lists_it(
    tmp_path: Path, receiver: Receiver
) -> None:
    notify = f"notify:\n  channels: [log, '{secret_url(receiver)}']\n"
    folder, mode = flip_task(tmp_path, "report", notify)
    mode.write_text("broken")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        mark = events.mark()
        finished = await run_once(engine, events, "report")
        assert finished.status == "failed"
        event = await told(events, "report", mark)
    finally:
        await engine.stop()
    assert len(receiver.received) == 1
    body = receiver.received[0].body
    assert "report" in body["title"] and "failed" in body["title"]
    assert "broken" in body["message"]  # the output's first lines
    sent = [(n.channel, n.reason, n.ok) for n in event.record.notifications]
    assert sent[0] == ("log", "failure", True)
    assert sent[1][1:] == ("failure", True) and SECRET not in sent[1][0]
    meta = json.loads(event.record.meta_file.read_text())
    assert [n["ok"] for n in meta["notifications"]] == [True, True]
    assert meta["status"] == "failed"  # sending changed nothing about the run
    assert any(isinstance(e, LogLine) and "Notify:" in e.message for e in events.events)
    # The URL's password is nowhere: files written, events, log lines.
    assert SECRET not in everything_written(folder)
    assert SECRET not in "\n".join(repr(e) for e in events.events)


async def test_a_streak_of_failures_sends_one_message_then_one_on_recovery(
    tmp_path: Path, receiver: Receiver
) -> None:
    notify = f"notify:\n  channels: ['{receiver.url()}']\n"
    _, mode = flip_task(tmp_path, "flaky", notify)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        statuses, reasons = [], []
        for text in ("ok", "bad", "bad", "bad", "ok", "ok"):
            mode.write_text(text)
            mark = events.mark()
            statuses.append((await run_once(engine, events, "flaky")).status)
            await engine.wait_idle()
            await engine.wait_told()
            reasons += [e.reason for e in events.events[mark:] if isinstance(e, RunNotified)]
    finally:
        await engine.stop()
    assert statuses == ["success", "failed", "failed", "failed", "success", "success"]
    assert reasons == ["failure", "recovery"]
    titles = [r.body["title"] for r in receiver.received]
    assert len(titles) == 2 and "failed" in titles[0] and "recovered" in titles[1]


async def test_repeat_every_sends_each_failure(tmp_path: Path, receiver: Receiver) -> None:
    notify = f"notify:\n  repeat: every\n  on_recovery: false\n  channels: ['{receiver.url()}']\n"
    _, mode = flip_task(tmp_path, "noisy", notify)
    mode.write_text("bad")
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        for text in ("bad", "bad", "ok"):
            mode.write_text(text)
            await run_once(engine, events, "noisy")
            await engine.wait_idle()
            await engine.wait_told()
    finally:
        await engine.stop()
    assert len(receiver.received) == 2


async def test_a_failing_channel_is_said_and_shown_and_the_run_keeps_its_status(
    tmp_path: Path, receiver: Receiver
) -> None:
    notify = f"notify:\n  on_success: true\n  channels: ['{secret_url(receiver)}']\n"
    folder, _ = flip_task(tmp_path, "daily", notify)
    receiver.mode = "error"
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        mark = events.mark()
        assert (await run_once(engine, events, "daily")).status == "success"
        event = await told(events, "daily", mark)
        assert event.view is not None and event.view.notify_error is not None
        assert "failed" not in event.record.status and event.record.status == "success"
        [notice] = event.record.notifications
        assert not notice.ok and notice.error
        state = json.loads((folder / "last_run.json").read_text())
        assert state["last_status"] == "success" and state["notify_error"]
        said = [e.message for e in events.events if isinstance(e, LogLine)]
        assert any("notification via" in line and "failed" in line for line in said)
        # The channel works again: the card's warning goes away.
        receiver.mode = "ok"
        mark = events.mark()
        await run_once(engine, events, "daily")
        event = await told(events, "daily", mark)
        assert event.view is not None and event.view.notify_error is None
    finally:
        await engine.stop()
    assert "notify_error" not in json.loads((folder / "last_run.json").read_text())
    assert SECRET not in everything_written(folder)
    assert SECRET not in "\n".join(repr(e) for e in events.events)


async def test_output_failing_its_check_ends_check_failed_and_a_command_channel_hears(
    tmp_path: Path,
) -> None:
    got = tmp_path / "heard.json"
    channel = tmp_path / "channel.py"
    channel.write_text(
        "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.stdin.read())\n"
    )
    command = json.dumps([sys.executable, str(channel), str(got)])
    config = (
        "executor: echo\n"
        "expect:\n  contains: Total revenue\n"
        f"notify:\n  channels:\n    - command: {command}\n"
    )
    folder = make_task(tmp_path / "tasks", "sales", prompt="Nothing to report", config=config)
    engine = Engine(tmp_path / "tasks", watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        mark = events.mark()
        finished = await run_once(engine, events, "sales")
        await told(events, "sales", mark)
    finally:
        await engine.stop()
    assert finished.status == "check_failed"
    assert finished.record.error == "expect.contains 'Total revenue' not found"
    assert finished.record.output_file is not None
    assert finished.record.output_file.read_text() == "Nothing to report"  # output kept whole
    state = json.loads((folder / "last_run.json").read_text())
    assert state["failure_count"] == 1 and state["last_status"] == "check_failed"
    heard = json.loads(got.read_text())
    assert heard["task"] == "sales" and heard["status"] == "check_failed"
    assert "Total revenue" in heard["body"]


async def test_changed_over_three_runs_and_on_change_carries_the_diff(
    tmp_path: Path, receiver: Receiver
) -> None:
    notify = f"notify:\n  on_change: true\n  channels: ['{receiver.url()}']\n"
    _, mode = flip_task(tmp_path, "price", notify)
    engine = Engine(tmp_path, watch=False)
    events = EventLog(engine)
    await engine.start()
    try:
        records = []
        for text in ("ok price 10", "ok price 10", "ok price 12"):
            mode.write_text(text)
            records.append((await run_once(engine, events, "price")).record)
            await engine.wait_idle()
            await engine.wait_told()
    finally:
        await engine.stop()
    assert [(r.changed, r.change) for r in records] == [
        (None, "first run"),
        (False, "unchanged"),
        (True, "+1 −1 lines"),
    ]
    assert len(receiver.received) == 1  # only the change is told
    body = receiver.received[0].body["message"]
    assert "-ok price 10" in body and "+ok price 12" in body
    meta = json.loads(records[2].meta_file.read_text())
    assert meta["changed"] is True and meta["change"] == "+1 −1 lines"


async def test_a_monitor_sends_nothing(tmp_path: Path, receiver: Receiver) -> None:
    notify = f"notify:\n  channels: ['{receiver.url()}']\n"
    _, mode = flip_task(tmp_path, "shared", notify)
    mode.write_text("bad")
    scheduler, monitor = Engine(tmp_path, watch=False), Engine(tmp_path)
    events, watched = EventLog(scheduler), EventLog(monitor)
    await scheduler.start()
    await monitor.start()
    try:
        assert monitor.role == "monitor"
        mark = events.mark()
        await run_once(scheduler, events, "shared")
        await told(events, "shared", mark)
        await watched.wait_for(lambda e: isinstance(e, RunFinished) and e.task == "shared")
        await scheduler.wait_told()
    finally:
        await monitor.stop()
        await scheduler.stop()
    assert len(receiver.received) == 1
    assert not any(isinstance(e, RunNotified) for e in watched.events)


def test_bassi_tui_run_tells_about_its_own_run(tmp_path: Path, receiver: Receiver) -> None:
    notify = f"notify:\n  channels: ['{receiver.url()}']\n"
    _, mode = flip_task(tmp_path, "manual", notify)
    mode.write_text("bad")
    env = {**os.environ, "BASSI_TASKS_DIR": str(tmp_path), "NO_PROXY": "127.0.0.1,localhost"}
    done = subprocess.run(
        [sys.executable, "-m", "bassi_tui", "run", "manual"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert len(receiver.received) == 1
    assert "manual" in receiver.received[0].body["title"]


async def test_missed_fires_under_policy_notify_are_told(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = (
        f"executor: echo\nmissed_task_policy: notify\nnotify:\n  channels: ['{receiver.url()}']\n"
    )
    folder = make_task(tmp_path, "nightly", schedule="type: interval\nhours: 1\n", config=config)
    past = datetime.now().astimezone() - timedelta(hours=3, minutes=30)
    state = {"task_name": "nightly", "next_run": past.isoformat()}
    (folder / "last_run.json").write_text(json.dumps(state))
    engine = Engine(tmp_path, watch=False)
    await engine.start()
    try:
        await engine.wait_told()
    finally:
        await engine.stop()
    [got] = receiver.received
    assert "nightly" in got.body["title"] and "missed" in got.body["title"]
    assert "4 runs missed" in got.body["message"]
