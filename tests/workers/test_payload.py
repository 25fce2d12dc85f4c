"""The payload, results and errors as plain data; the worker command's usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bassi_tui.cli import main
from bassi_tui.executor.base import AttemptResult, ExecutorError, RunLost, RunRequest
from bassi_tui.store.models import McpServer, NotifyChannel, NotifyConfig, TaskConfig
from bassi_tui.store.records import WrittenFile
from bassi_tui.workers.jobs import task_folder
from bassi_tui.workers.keys import DEFAULT_LOST_AFTER, job_id_for
from bassi_tui.workers.payload import (
    error_data,
    error_from_data,
    request_from_payload,
    request_payload,
    result_data,
    result_from_data,
)
from bassi_tui.workers.worker_cli import parse_labels


def _request() -> RunRequest:
    config = TaskConfig(
        executor="agent",
        model="claude-x",
        max_tokens=123,
        system="be brief",
        workdir="ws",
        tools=("read", "bash"),
        allowed_paths=("data",),
        max_turns=7,
        timeout=42.0,
        environment={"TOKEN": "secret-value-1", "REGION": "secret-value-2"},
        mcp_servers=(
            McpServer("files", command=("srv", "--flag"), env={"KEY": "secret-value-3"}),
            McpServer("web", url="https://x.invalid/secret-value-4", headers={"A": "B"}),
        ),
        notify=NotifyConfig(channels=(NotifyChannel("apprise", "tgram://secret-value-5/1"),)),
    )
    return RunRequest("report", "the prompt", config, run_id="report@slot", attempt=2)


def test_the_payload_is_json_and_holds_no_secret() -> None:
    payload = request_payload(_request(), job_id="j", lost_after=10.0)
    text = json.dumps(payload)
    assert "secret-value" not in text
    assert payload["config"]["environment"] == ["REGION", "TOKEN"]


def test_the_worker_rebuilds_the_request_with_its_own_environment(tmp_path: Path) -> None:
    payload = json.loads(json.dumps(request_payload(_request(), job_id="j", lost_after=10.0)))
    rebuilt = request_from_payload(payload, tmp_path, env={"TOKEN": "worker", "KEY": "w-key"})
    config = rebuilt.config
    assert (rebuilt.task_name, rebuilt.prompt, rebuilt.run_id, rebuilt.attempt) == (
        "report",
        "the prompt",
        "report@slot",
        2,
    )
    assert rebuilt.task_dir == tmp_path and rebuilt.transcript is None
    assert config.environment == {"TOKEN": "worker"}  # REGION: the worker has none
    assert (config.executor, config.model, config.max_tokens, config.system) == (
        "agent",
        "claude-x",
        123,
        "be brief",
    )
    assert (config.workdir, config.tools, config.allowed_paths, config.max_turns) == (
        "ws",
        ("read", "bash"),
        ("data",),
        7,
    )
    assert config.timeout == 42.0
    assert config.mcp_servers == (
        McpServer("files", command=("srv", "--flag"), env={"KEY": "w-key"}),
    )
    assert config.notify == NotifyConfig()


def test_a_payload_of_another_version_is_refused(tmp_path: Path) -> None:
    payload = request_payload(_request(), job_id="j", lost_after=10.0) | {"v": 99}
    with pytest.raises(ValueError, match="same bassi-tui version"):
        request_from_payload(payload, tmp_path)


def test_results_and_errors_round_trip() -> None:
    result = AttemptResult(
        model="m",
        input_tokens=1,
        output_tokens=2,
        request_id="r",
        stop_reason="end_turn",
        exit_code=0,
        turns=3,
        cache_read_tokens=4,
        cache_write_tokens=5,
        files=(WrittenFile("out.txt", 9),),
        worker="w@h",
    )
    assert result_from_data(json.loads(json.dumps(result_data(result)))) == result
    error = ExecutorError("rate limited", transient=True, retry_after=3.5, status_code=429)
    error.result = result
    back = error_from_data(json.loads(json.dumps(error_data(error))))
    assert (back.message, back.transient, back.retry_after, back.status_code) == (
        "rate limited",
        True,
        3.5,
        429,
    )
    assert back.result == result


def test_ids_and_folders() -> None:
    assert job_id_for("a/b c@2025", 1) == job_id_for("a/b c@2025", 1)
    assert job_id_for("a/b c@2025", 1) != job_id_for("a/b c@2025", 2)
    assert all(ch.isalnum() or ch in "-_" for ch in job_id_for("../ä b", 3))
    root = Path("/w")
    assert task_folder(root, "../x").parent == root
    assert task_folder(root, "a b") != task_folder(root, "a_b")
    assert DEFAULT_LOST_AFTER <= 60
    assert not RunLost("lost: x", worker="w@h").transient


def test_labels() -> None:
    assert parse_labels("gpu, eu,gpu") == ["gpu", "eu"]
    for bad in ("", " , ", "a b", "x/y"):
        with pytest.raises(ValueError):
            parse_labels(bad)


def test_the_worker_command_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BASSI_WORKERS_URL", raising=False)
    assert main(["worker", "--labels", "a"]) == 2
    assert "--url" in capsys.readouterr().err
    assert main(["worker", "--url", "redis://127.0.0.1:9/0", "--labels", "a b"]) == 2
    assert "label 'a b'" in capsys.readouterr().err


def test_the_worker_command_fails_when_redis_is_not_there() -> None:
    argv = [sys.executable, "-m", "bassi_tui", "worker", "--labels", "a"]
    done = subprocess.run(
        [*argv, "--url", "redis://127.0.0.1:9/0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot reach Redis at 127.0.0.1:9" in done.stderr
