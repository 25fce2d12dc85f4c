"""Sending for real: Apprise to a receiver on 127.0.0.1, and command channels as processes."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bassi_tui.notify.message import Message, build_message
from bassi_tui.notify.send import Delivery, send, send_async
from bassi_tui.store.models import LOG_CHANNEL, NotifyChannel
from tests.receiver import Receiver, running_receiver

SECRET = "Sup3rSecretT0ken"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    # A proxy from the environment must not carry loopback requests anywhere.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with running_receiver() as r:
        yield r


@pytest.fixture
def message() -> Message:
    return build_message(
        "weekly-report",
        "failure",
        "failed",
        error="exit status 2",
        output="first line\nsecond line",
        result_file="/tasks/weekly-report/results/2025-01-13_09-00-00.txt",
    )


def apprise(url: str) -> NotifyChannel:
    return NotifyChannel("apprise", url=url)


def script(tmp_path: Path, body: str) -> NotifyChannel:
    path = tmp_path / "channel.py"
    path.write_text(body)
    return NotifyChannel("command", command=(sys.executable, str(path), str(tmp_path)))


def test_apprise_delivers_title_and_body(receiver: Receiver, message: Message) -> None:
    (delivery,) = send([apprise(receiver.url("/hook"))], message, timeout=10)
    assert delivery == Delivery(f"json://127.0.0.1:{receiver.port}/***", True, None)
    (got,) = receiver.received
    assert got.path.startswith("/hook")
    assert got.body["title"] == "bassi-tui: weekly-report failed"
    assert got.body["message"] == message.body
    assert got.body["type"] == "failure"


def test_log_channels_are_ok_at_once_and_order_is_kept(
    receiver: Receiver, message: Message
) -> None:
    deliveries = send([LOG_CHANNEL, apprise(receiver.url()), LOG_CHANNEL], message, timeout=10)
    assert [(d.channel, d.ok) for d in deliveries] == [
        ("log", True),
        (f"json://127.0.0.1:{receiver.port}/***", True),
        ("log", True),
    ]
    assert send([], message) == []


def test_a_service_answering_500_is_a_failed_delivery_with_its_reason(
    receiver: Receiver, message: Message
) -> None:
    receiver.mode = "error"
    (delivery,) = send([apprise(receiver.url())], message, timeout=10)
    assert not delivery.ok and delivery.error is not None
    assert "500" in delivery.error, delivery.error


def test_a_hanging_service_fails_within_the_timeout(receiver: Receiver, message: Message) -> None:
    receiver.mode = "hang"
    started = time.monotonic()
    (delivery,) = send([apprise(receiver.url())], message, timeout=2)
    took = time.monotonic() - started
    assert receiver.arrived.is_set()  # it did reach the service, which never answered
    assert not delivery.ok and delivery.error
    assert "timed out" in delivery.error.lower(), delivery.error
    assert took < 4, took  # a safety bound, not a benchmark: the real figure is ~2 s


def test_a_dead_host_does_not_delay_the_other_channels(
    receiver: Receiver, message: Message
) -> None:
    with running_receiver() as dead:
        dead.mode = "hang"
        deliveries = send([apprise(dead.url()), apprise(receiver.url())], message, timeout=2)
    assert [d.ok for d in deliveries] == [False, True]
    assert len(receiver.received) == 1


def test_a_closed_port_is_a_failed_delivery(message: Message) -> None:
    (delivery,) = send([apprise("json://127.0.0.1:9/hook")], message, timeout=5)
    assert not delivery.ok and delivery.error and "connection" in delivery.error.lower()


def test_a_secret_reaches_no_delivery_no_log_and_no_repr(
    receiver: Receiver, message: Message, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # as verbose as the app's log can be
    receiver.mode = "error"
    fail = "import sys; sys.exit('bad token ' + sys.argv[1])"
    channels = [
        apprise(f"json://user:{SECRET}@127.0.0.1:{receiver.port}/hook/{SECRET}?token={SECRET}"),
        apprise(f"json://user:{SECRET}@127.0.0.1:9/{SECRET}"),  # refused: a connection error
        NotifyChannel(
            "command",
            command=(sys.executable, "-c", fail, SECRET),
        ),
    ]
    deliveries = send(channels, message, timeout=10)
    assert [d.ok for d in deliveries] == [False, False, False]
    assert SECRET in receiver.received[0].path  # the real URL was used to send
    for delivery in deliveries:
        assert SECRET not in repr(delivery), delivery
    assert "bad token ***" in (deliveries[2].error or "")
    assert SECRET not in repr(channels) and SECRET not in repr(message)
    # Apprise's and urllib3's own lines (paths, URLs) stay out of the app's log.
    assert SECRET not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith(("apprise", "urllib3"))]


def test_a_command_gets_the_message_as_json_on_stdin(tmp_path: Path, message: Message) -> None:
    channel = script(
        tmp_path,
        "import pathlib, sys\n"
        "pathlib.Path(sys.argv[1], 'got.json').write_bytes(sys.stdin.buffer.read())\n",
    )
    (delivery,) = send([channel], message, timeout=10)
    assert delivery == Delivery(f"command {sys.executable}", True, None)
    got = json.loads((tmp_path / "got.json").read_text())
    assert got == message.to_json()
    assert (got["task"], got["reason"], got["status"]) == ("weekly-report", "failure", "failed")
    assert got["title"] == message.title and got["body"] == message.body
    assert got["result_file"].endswith("2025-01-13_09-00-00.txt")


def test_a_failing_command_reports_its_last_stderr_line(tmp_path: Path, message: Message) -> None:
    channel = script(
        tmp_path,
        "import sys\nsys.stdin.read()\nprint('warming up', file=sys.stderr)\n"
        "print('\\x1b[31mno route to pager\\x1b[0m', file=sys.stderr)\nsys.exit(3)\n",
    )
    (delivery,) = send([channel], message, timeout=10)
    assert not delivery.ok
    shown = "\\x1b[31mno route to pager\\x1b[0m"  # inert: escaped, not obeyed
    assert delivery.error == f"{sys.executable} failed (exit status 3): {shown}"


def test_a_missing_program_is_a_failed_delivery(tmp_path: Path, message: Message) -> None:
    channel = NotifyChannel("command", command=("./not-there.sh",))
    (delivery,) = send([channel], message, timeout=5, cwd=tmp_path)
    assert (
        not delivery.ok
        and delivery.error == "cannot start ./not-there.sh: No such file or directory"
    )


def test_a_relative_program_runs_in_the_task_folder(tmp_path: Path, message: Message) -> None:
    tell = tmp_path / "tell.sh"
    tell.write_text("#!/bin/sh\ncat > got.json\n")
    tell.chmod(0o755)
    (delivery,) = send([NotifyChannel("command", command=("./tell.sh",))], message, cwd=tmp_path)
    assert (
        delivery.ok and json.loads((tmp_path / "got.json").read_text())["task"] == "weekly-report"
    )


def test_a_hanging_command_is_killed_with_its_children(tmp_path: Path, message: Message) -> None:
    channel = script(
        tmp_path,
        "import os, pathlib, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "pathlib.Path(sys.argv[1], 'pids').write_text(f'{os.getpid()} {child.pid}')\n"
        "time.sleep(60)\n",
    )
    started = time.monotonic()
    (delivery,) = send([channel], message, timeout=2)
    assert time.monotonic() - started < 4
    assert not delivery.ok and delivery.error and "did not finish" in delivery.error
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    for pid in pids:
        for _ in range(50):  # the child is reaped by init; give it a moment
            if not _alive(pid):
                break
            time.sleep(0.05)
        assert not _alive(pid), pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


async def test_send_async_runs_in_a_thread(receiver: Receiver, message: Message) -> None:
    deliveries = await send_async([LOG_CHANNEL, apprise(receiver.url())], message, timeout=10)
    assert [d.ok for d in deliveries] == [True, True]
    assert receiver.received[0].body["title"] == message.title


def test_sending_never_raises(message: Message) -> None:
    broken = [
        NotifyChannel("apprise", url=None),
        NotifyChannel("apprise", url="foo://nowhere"),
        NotifyChannel("command", command=()),
        NotifyChannel("bogus"),  # type: ignore[arg-type]
    ]
    deliveries = send(broken, message, timeout=5)
    assert [d.ok for d in deliveries] == [False, False, False, False]
    assert all(d.error for d in deliveries)
