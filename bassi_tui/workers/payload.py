"""A run request, an attempt's result and its error as plain data: what crosses to a worker.

One marshal and one unmarshal for each (as APScheduler's ``_structures``), JSON-safe, so RQ's
JSON serializer stores them and nothing from Redis is ever unpickled.

What the payload never holds: a secret. The scheduler's environment is not sent (not even the
API key's name), nor the values of config.yaml ``environment`` and of ``mcp_servers``' ``env``:
only their *names* go, and the worker fills each from its own environment (a name it does not
have is left out). HTTP ``mcp_servers`` (``url:``) are not sent at all: their headers hold
tokens, and so may their URLs (user part, path, query), as :class:`McpServer`'s repr knows; a
remote agent run has the task's stdio MCP servers only (for now). Nor the parts of the config
that only the scheduler uses (``notify`` with its channel URLs, ``expect``, ``when``, retries): the
payload is an allow-list of what a runner reads, so a field added to TaskConfig later is not
sent until it is named here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest
from bassi_tui.store.models import ExecutorName, McpServer, TaskConfig, ToolName
from bassi_tui.store.records import WrittenFile, opt_int, opt_str

__all__ = [
    "PAYLOAD_VERSION",
    "error_data",
    "error_from_data",
    "request_from_payload",
    "request_payload",
    "result_data",
    "result_from_data",
]

#: Bumped when the payload's shape changes; a worker refuses one it does not know.
PAYLOAD_VERSION = 1


def _config_data(config: TaskConfig) -> dict[str, Any]:
    return {
        "executor": config.executor,
        "timeout": config.timeout,
        "model": config.model,
        "max_tokens": config.max_tokens,
        "system": config.system,
        "command": list(config.command),
        "workdir": config.workdir,
        "tools": list(config.tools),
        "allowed_paths": list(config.allowed_paths),
        "max_turns": config.max_turns,
        "environment": sorted(config.environment),  # names only
        "mcp_servers": [
            {
                "name": server.name,
                "command": list(server.command),
                "env": sorted(server.env),  # names only
            }
            for server in config.mcp_servers
            if server.transport == "stdio"  # an HTTP one's URL and headers may hold tokens
        ],
    }


def request_payload(request: RunRequest, *, job_id: str, lost_after: float) -> dict[str, Any]:
    """``request`` as the job's one argument: the prompt, the config a runner reads, which
    attempt of which run, and how often the work-horse must beat (``lost_after``)."""
    return {
        "v": PAYLOAD_VERSION,
        "job_id": job_id,
        "run_id": request.run_id,
        "attempt": request.attempt,
        "task_name": request.task_name,
        "prompt": request.prompt,
        "config": _config_data(request.config),
        "lost_after": lost_after,
    }


def _from_env(names: object, env: Mapping[str, str]) -> dict[str, str]:
    """The worker's values of the ``names`` it has."""
    if not isinstance(names, list):
        return {}
    return {name: env[name] for name in names if isinstance(name, str) and name in env}


def _config_from(data: Mapping[str, Any], env: Mapping[str, str]) -> TaskConfig:
    servers = tuple(
        McpServer(
            name=str(server["name"]),
            command=tuple(str(part) for part in server.get("command") or ()),
            env=_from_env(server.get("env"), env),
        )
        for server in data.get("mcp_servers") or ()
    )
    system = data.get("system")
    return TaskConfig(
        executor=cast(ExecutorName, str(data["executor"])),
        timeout=float(data["timeout"]),
        model=str(data["model"]),
        max_tokens=int(data["max_tokens"]),
        system=str(system) if system is not None else None,
        command=tuple(str(part) for part in data.get("command") or ()),
        workdir=str(data["workdir"]),
        tools=tuple(cast(ToolName, str(tool)) for tool in data.get("tools") or ()),
        allowed_paths=tuple(str(path) for path in data.get("allowed_paths") or ()),
        max_turns=int(data["max_turns"]),
        environment=_from_env(data.get("environment"), env),
        mcp_servers=servers,
    )


def request_from_payload(
    data: Mapping[str, Any], task_dir: Path, env: Mapping[str, str] | None = None
) -> RunRequest:
    """The worker's RunRequest from a payload: the task's folder is ``task_dir`` (on the
    worker), secrets come from ``env`` (default: the worker's environment). ValueError for a
    payload of another version."""
    if data.get("v") != PAYLOAD_VERSION:
        raise ValueError(
            f"payload version {data.get('v')!r}, this worker knows {PAYLOAD_VERSION}: "
            "run the same bassi-tui version on the scheduler and the workers"
        )
    return RunRequest(
        task_name=str(data["task_name"]),
        prompt=str(data["prompt"]),
        config=_config_from(data["config"], os.environ if env is None else env),
        task_dir=task_dir,
        transcript=None,  # the transcript of a remote agent run stays with the worker
        run_id=data.get("run_id"),
        attempt=int(data.get("attempt", 1)),
    )


def result_data(result: AttemptResult) -> dict[str, Any]:
    """An attempt's result as plain data."""
    return {
        "model": result.model,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "request_id": result.request_id,
        "stop_reason": result.stop_reason,
        "exit_code": result.exit_code,
        "turns": result.turns,
        "cache_read_tokens": result.cache_read_tokens,
        "cache_write_tokens": result.cache_write_tokens,
        "files": [written.to_json() for written in result.files],
        "worker": result.worker,
    }


def result_from_data(data: Mapping[str, Any]) -> AttemptResult:
    """The AttemptResult that :func:`result_data` made (unknown or odd fields are dropped)."""
    files = tuple(
        written
        for entry in data.get("files") or ()
        if (written := WrittenFile.from_json(entry)) is not None
    )
    return AttemptResult(
        model=opt_str(data.get("model")),
        input_tokens=opt_int(data.get("input_tokens")),
        output_tokens=opt_int(data.get("output_tokens")),
        request_id=opt_str(data.get("request_id")),
        stop_reason=opt_str(data.get("stop_reason")),
        exit_code=opt_int(data.get("exit_code")),
        turns=opt_int(data.get("turns")),
        cache_read_tokens=opt_int(data.get("cache_read_tokens")),
        cache_write_tokens=opt_int(data.get("cache_write_tokens")),
        files=files,
        worker=opt_str(data.get("worker")),
    )


def error_data(error: ExecutorError) -> dict[str, Any]:
    """An attempt's error as plain data (its message is masked by the runner that made it)."""
    return {
        "message": error.message,
        "transient": error.transient,
        "retry_after": error.retry_after,
        "status_code": error.status_code,
        "request_id": error.request_id,
        "result": result_data(error.result) if error.result is not None else None,
    }


def error_from_data(data: Mapping[str, Any]) -> ExecutorError:
    """The ExecutorError that :func:`error_data` made."""
    retry_after = data.get("retry_after")
    error = ExecutorError(
        str(data.get("message") or "the worker gave no reason"),
        transient=bool(data.get("transient")),
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        status_code=opt_int(data.get("status_code")),
        request_id=opt_str(data.get("request_id")),
    )
    result = data.get("result")
    error.result = result_from_data(result) if isinstance(result, Mapping) else None
    return error
