"""No secret of the scheduler's ever reaches Redis: every byte of every key is looked at."""

from __future__ import annotations

import asyncio
import contextlib
import zlib

import pytest
import redis

from bassi_tui.store.models import McpServer
from bassi_tui.workers.link import WorkerLink
from bassi_tui.workers.remote import RemoteRunner
from tests.workers.runs import RUN_S, Collector, command_request, echo_request

pytestmark = pytest.mark.usefixtures("workers")

API_KEY = "sk-ant-scheduler-only-key-0123456789"
PROCESS_SECRET = "scheduler-process-secret-4242"
CONFIG_SECRET = "config-environment-secret-7777"
MCP_ENV_SECRET = "mcp-env-secret-8888"
MCP_HEADER_SECRET = "mcp-header-secret-9999"
MCP_URL_SECRET = "mcp-url-token-5555"
SECRETS = (
    API_KEY,
    PROCESS_SECRET,
    CONFIG_SECRET,
    MCP_ENV_SECRET,
    MCP_HEADER_SECRET,
    MCP_URL_SECRET,
)
#: Not a secret: the prompt, which must be found (the scan sees inside what RQ compresses).
MARKER = "visible-prompt-marker-1234"


def _values(client: redis.Redis, key: bytes) -> list[bytes]:
    """Every value stored under ``key``, as its type keeps it, plus its DUMP."""
    kind = client.type(key)
    found: list[bytes] = [key]
    if kind == b"string":
        found.append(client.get(key) or b"")
    elif kind == b"hash":
        for field, value in client.hgetall(key).items():
            found += [field, value]
    elif kind == b"list":
        found += client.lrange(key, 0, -1)
    elif kind == b"set":
        found += list(client.smembers(key))
    elif kind == b"zset":
        found += [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
    elif kind == b"stream":
        for entry_id, fields in client.xrange(key):
            found.append(entry_id)
            for field, value in fields.items():
                found += [field, value]
    found.append(client.dump(key) or b"")
    inflated = []
    for value in found:  # RQ stores a job's call (function, args) zlib-compressed
        with contextlib.suppress(zlib.error):
            inflated.append(zlib.decompress(value))
    return found + inflated


def _everything(url: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return [value for key in client.scan_iter(count=1000) for value in _values(client, key)]
    finally:
        client.close()


async def test_no_secret_reaches_redis(
    link: WorkerLink, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.setenv("BASSI_TEST_PROCESS_SECRET", PROCESS_SECRET)
    secret_config = {
        "environment": {"MY_TOKEN": CONFIG_SECRET, "PLAIN": PROCESS_SECRET},
        "mcp_servers": (
            McpServer("local", command=("server",), env={"MCP_KEY": MCP_ENV_SECRET}),
            McpServer(
                "remote",
                url=f"https://mcp.invalid/v1?token={MCP_URL_SECRET}",
                headers={"Authorization": f"Bearer {MCP_HEADER_SECRET}"},
            ),
        ),
    }
    runner = RemoteRunner(link, "a", poll=0.2)
    out = Collector()
    await asyncio.wait_for(runner.run(echo_request(f"{MARKER}\n", **secret_config), out), RUN_S)
    assert out.text == f"{MARKER}\n"
    out = Collector()
    script = 'echo "token=$MY_TOKEN plain=${PLAIN:-unset} key=${ANTHROPIC_API_KEY:-unset}"'
    await asyncio.wait_for(runner.run(command_request(script, **secret_config), out), RUN_S)
    assert out.text == "token=worker-side-token plain=unset key=unset\n"

    stored = _everything(redis_url)
    assert any(MARKER.encode() in value for value in stored), "the scan does not see the prompt"
    for secret in SECRETS:
        leaks = [value[:200] for value in stored if secret.encode() in value]
        assert not leaks, f"{secret} is in Redis: {leaks}"
