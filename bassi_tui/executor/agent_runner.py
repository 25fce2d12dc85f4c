"""The ``agent`` executor: the prompt as a tool-using conversation, on the SDK's own pieces.

One attempt is one run of the SDK's async streaming tool runner
(``client.beta.messages.tool_runner(..., stream=True, max_iterations=max_turns)``) over the
reference agent toolset (``anthropic.lib.tools.agent_toolset``: read, write, edit, glob, grep,
bash, confined to a workdir) and the tools of the task's MCP servers
(``anthropic.lib.tools.mcp.async_mcp_tool`` over an ``mcp`` client session).

What this module adds around the SDK, for an unattended scheduler:

- **Closing what the Messages runner leaves open.** The Messages tool runner never closes the
  stateful ``bash`` tool's shell (the SDK says so: one orphaned shell per run). The toolset's
  :class:`AgentToolContext` is entered as an async context manager here and closed when the
  attempt ends, however it ends (success, error, timeout, cancel, the engine stopping); its
  ``bash`` runs in its own process group, killed then. MCP sessions and stdio server processes
  are closed the same way (an ``AsyncExitStack``).
- **Confinement of the task's own files.** The file tools reach only the workdir and
  ``allowed_paths`` (the SDK resolves symlinks before checking); the task's own files
  (schedule.yaml, prompt.txt, config.yaml, last_run.json, results/) are read-only roots, so a
  write to them gets an error result and the run goes on. ``bash`` is not confined: it is a
  shell with the task's environment (minus the API key), not a sandbox.
- **What a person watching sees.** Text streams into the result file as it comes; each tool call
  adds one inert line (``→ write _RESULTS_FROM_AGENT/weekly_sales.txt (2.1 KB)``). Every turn
  goes to ``<stem>.transcript.jsonl`` (text, tool calls and their inputs, bounded results,
  tokens), with secrets masked.
- **Accounting.** Tokens are summed over turns (cache reads and writes too); ``files`` lists what
  the attempt created or changed in the workdir. A run that is still calling tools when
  ``max_turns`` is reached fails (its output kept): the model never finished.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bassi_tui.executor.agent_tools import bound, tools_for
from bassi_tui.executor.anthropic_runner import MISSING_KEY_MESSAGE, SdkClients, map_error
from bassi_tui.executor.base import AttemptResult, ExecutorError, RunRequest, TextSink
from bassi_tui.executor.sdk_import import ensure_imported
from bassi_tui.store.inert import inert
from bassi_tui.store.models import CONFIG_FILE, PROMPT_FILE, RESULTS_DIR, SCHEDULE_FILE, STATE_FILE
from bassi_tui.store.records import WrittenFile

if TYPE_CHECKING:
    from bassi_tui.store.models import McpServer

__all__ = [
    "DATA_DIR",
    "RESULTS_FROM_AGENT",
    "TOOL_NAMES",
    "AgentRunner",
    "describe_call",
    "prepare_workdir",
    "snapshot",
    "written_since",
]

#: The tools of the SDK's agent toolset, by the name config.yaml uses.
TOOL_NAMES = ("read", "write", "edit", "glob", "grep", "bash")
#: The original design's folders inside the workdir: what the user gives, what the agent makes.
DATA_DIR = "_DATA_FROM_USER"
RESULTS_FROM_AGENT = "_RESULTS_FROM_AGENT"
WORKDIR_FOLDERS = (DATA_DIR, RESULTS_FROM_AGENT)
#: A tool result is kept in the transcript up to this many characters.
TRANSCRIPT_RESULT_CAP = 4000
#: A tool call's line in the result file shows this much of its argument.
CALL_LINE_CAP = 100
#: The workdir is walked for ``files`` up to this many entries (a runaway tree stays cheap).
SNAPSHOT_LIMIT = 20_000
#: Shorter values are not secrets, and masking them would garble the transcript.
MIN_SECRET_LEN = 4


async def _import_sdk(with_mcp: bool) -> None:
    """Import the SDK's pieces in a thread the first time (``import anthropic`` takes ~2 s)."""
    names = ["anthropic", "anthropic.lib.tools.agent_toolset"]
    if with_mcp:
        names += ["anthropic.lib.tools.mcp", "mcp.client.stdio", "mcp.client.streamable_http"]
    await ensure_imported(names)


def prepare_workdir(path: Path) -> Path:
    """The workdir, with the original design's two folders in it (created on the first run)."""
    for sub in WORKDIR_FOLDERS:
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def task_files(task_dir: Path) -> list[Path]:
    """The task's own files, which the agent's file tools must never change."""
    return [
        task_dir / name
        for name in (SCHEDULE_FILE, PROMPT_FILE, CONFIG_FILE, STATE_FILE, RESULTS_DIR)
    ]


def bash_env(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment of the agent's bash: this process's, minus Anthropic credentials, plus the
    task's ``environment`` (the SDK takes a given env as the whole environment)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    return {**base, **environment}


#: The threads that make and list workdirs: their own, so a burst of runs listing workdirs
#: never queues in front of the SDK's DNS lookups (anyio's ``getaddrinfo`` runs in the loop's
#: default executor).
WORKDIR_POOL = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="bassi-workdir")


def _made_and_listed(path: Path) -> dict[str, tuple[int, int]]:
    """:func:`prepare_workdir` unless both folders are there, then :func:`snapshot`."""
    if not all((path / sub).is_dir() for sub in WORKDIR_FOLDERS):
        prepare_workdir(path)
    return snapshot(path)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime_ns) of every regular file under ``root`` (bounded)."""
    found: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not Path(dirpath, d).is_symlink()]
        for name in filenames:
            full = Path(dirpath, name)
            with contextlib.suppress(OSError):
                st = full.lstat()
                if full.is_file() and not full.is_symlink():
                    found[str(full.relative_to(root))] = (st.st_size, st.st_mtime_ns)
            if len(found) >= SNAPSHOT_LIMIT:
                return found
    return found


def written_since(
    before: Mapping[str, tuple[int, int]], after: Mapping[str, tuple[int, int]]
) -> tuple[WrittenFile, ...]:
    """The files created or changed between two snapshots, by path."""
    return tuple(
        WrittenFile(path, size)
        for path, (size, mtime) in sorted(after.items())
        if before.get(path) != (size, mtime)
    )


def _size(nbytes: int) -> str:
    if nbytes < 1024:
        return f"{nbytes} B"
    if nbytes < 1024 * 1024:
        return f"{nbytes / 1024:.1f} KB"
    return f"{nbytes / 1024 / 1024:.1f} MB"


def describe_call(name: str, tool_input: object) -> str:
    """The one line a tool call adds to the result file, inert: ``→ write notes.txt (2.1 KB)``."""
    args = tool_input if isinstance(tool_input, dict) else {}
    path = args.get("file_path") or args.get("path")
    if name == "write" and isinstance(path, str):
        content = args.get("content")
        size = len(content.encode("utf-8")) if isinstance(content, str) else 0
        what = f"{path} ({_size(size)})"
    elif name in ("read", "edit") and isinstance(path, str):
        what = path
    elif name in ("glob", "grep") and isinstance(args.get("pattern"), str):
        what = str(args["pattern"]) + (f" in {path}" if isinstance(path, str) else "")
    elif name == "bash" and isinstance(args.get("command"), str):
        what = str(args["command"])
    else:
        what = json.dumps(args, ensure_ascii=False, sort_keys=True) if args else ""
    if len(what) > CALL_LINE_CAP:
        what = what[: CALL_LINE_CAP - 1] + "…"
    return inert(f"→ {name} {what}".rstrip())


class Masker:
    """Replaces secret values (the API key, ``environment`` values, MCP env and headers)."""

    def __init__(self, values: Iterable[str]) -> None:
        cleaned = {v.strip() for v in values if len(v.strip()) >= MIN_SECRET_LEN}
        self._values = sorted(cleaned, key=len, reverse=True)

    def text(self, text: str) -> str:
        """``text`` with every secret shown as ``***``."""
        for value in self._values:
            if value in text:
                text = text.replace(value, "***")
        return text

    def deep(self, obj: Any) -> Any:
        """Every string inside ``obj`` (dicts, lists) masked."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.text(str(k)): self.deep(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.deep(v) for v in obj]
        return obj


def _result_text(content: object) -> str:
    """A tool result's content as text (images and documents by their type only), bounded."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        parts = []
        for block in content:
            kind = block.get("type") if isinstance(block, dict) else None
            parts.append(str(block.get("text", "")) if kind == "text" else f"[{kind} block]")
        text = "\n".join(parts)
    else:
        text = "" if content is None else str(content)
    if len(text) > TRANSCRIPT_RESULT_CAP:
        text = text[:TRANSCRIPT_RESULT_CAP] + f"… [{len(text) - TRANSCRIPT_RESULT_CAP} more]"
    return text


@dataclass(slots=True)
class _Totals:
    """Tokens summed over an attempt's turns."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def add(self, usage: Any) -> dict[str, int]:
        """Add one turn's usage; return that turn's figures."""
        turn = {
            "input_tokens": int(getattr(usage, "input_tokens", 0) or 0),
            "output_tokens": int(getattr(usage, "output_tokens", 0) or 0),
            "cache_read_input_tokens": int(getattr(usage, "cache_read_input_tokens", 0) or 0),
            "cache_creation_input_tokens": int(
                getattr(usage, "cache_creation_input_tokens", 0) or 0
            ),
        }
        self.input += turn["input_tokens"]
        self.output += turn["output_tokens"]
        self.cache_read += turn["cache_read_input_tokens"]
        self.cache_write += turn["cache_creation_input_tokens"]
        return turn


@dataclass(slots=True)
class _Transcript:
    """``<stem>.transcript.jsonl``: one JSON line per turn, secrets masked, flushed per turn."""

    path: Path | None
    masker: Masker
    _handle: IO[str] | None = field(default=None, init=False)

    def turn(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            return
        if self._handle is None:
            self._handle = self.path.open("w", encoding="utf-8")
        line = json.dumps(self.masker.deep(entry), ensure_ascii=False, default=str)
        self._handle.write(line + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None


def _retrieve(job: asyncio.Future[Any]) -> None:
    """Done callback: a workdir nobody awaited (the attempt failed first) raises nothing later."""
    if not job.cancelled():
        job.exception()


class AgentRunner:
    """Runs a prompt as a tool-using conversation; see the module docstring."""

    name: str = "agent"

    def __init__(self, *, connect_timeout: float = 10.0, read_timeout: float = 300.0) -> None:
        self._clients = SdkClients(connect_timeout=connect_timeout, read_timeout=read_timeout)

    async def _workdir(self, path: Path, written: str) -> dict[str, tuple[int, int]]:
        """Make the workdir and its two folders if need be, then list it: the "before" of the
        attempt (in a thread of :data:`WORKDIR_POOL`). ExecutorError when it cannot be made."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(WORKDIR_POOL, _made_and_listed, path)
        except OSError as exc:
            raise ExecutorError(
                f"cannot create the workdir {written}: {exc.strerror or exc}", transient=False
            ) from None

    async def warm(self) -> None:
        """Build this runner's HTTP client ahead of its first run (see :meth:`SdkClients.warm`)."""
        await self._clients.warm()

    async def aclose(self) -> None:
        """Close the HTTP clients opened on the running loop (call at shutdown)."""
        await self._clients.aclose()

    async def run(self, request: RunRequest, on_text: TextSink) -> AttemptResult:
        """One attempt: the whole tool loop, up to ``max_turns`` model turns."""
        api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not api_key:
            raise ExecutorError(MISSING_KEY_MESSAGE, transient=False)
        if request.task_dir is None:
            raise ExecutorError("the agent executor needs the task's folder", transient=False)
        config = request.config
        await _import_sdk(bool(config.mcp_servers))
        workdir = config.workdir_path(request.task_dir)
        # The workdir is made and listed while the first request goes out (a burst of runs
        # reaches the API without waiting for it): no tool runs before it is done (``looking``
        # is awaited first), and one that cannot be made fails the attempt.
        looking = asyncio.ensure_future(self._workdir(workdir, config.workdir))
        looking.add_done_callback(_retrieve)
        masker = Masker(
            [
                api_key,
                *config.environment.values(),
                *(v for server in config.mcp_servers for v in server.env.values()),
                *(v for server in config.mcp_servers for v in server.headers.values()),
            ]
        )
        transcript = _Transcript(request.transcript, masker)
        totals = _Totals()
        turns = 0
        model: str | None = None
        stop_reason: str | None = None
        request_id: str | None = None
        at_line_start = True

        async def say(text: str) -> None:
            nonlocal at_line_start
            if text:
                await on_text(text)
                at_line_start = text.endswith("\n")

        try:
            async with contextlib.AsyncExitStack() as stack:
                tools = await self._tools(stack, request, workdir)
                import anthropic

                runner = self._clients.get(api_key).beta.messages.tool_runner(
                    model=config.model,
                    max_tokens=config.max_tokens,
                    system=config.system if config.system else anthropic.omit,
                    messages=[{"role": "user", "content": request.prompt}],
                    tools=tools,
                    stream=True,
                    max_iterations=config.max_turns,
                )
                stack.push_async_callback(runner.close)
                stack.callback(transcript.close)
                async for stream in runner:
                    turns += 1
                    texts: list[str] = []
                    async for event in stream:
                        if event.type == "content_block_delta" and event.delta.type == "text_delta":
                            texts.append(event.delta.text)
                            await say(event.delta.text)
                    message = await stream.get_final_message()
                    request_id = request_id or getattr(stream, "request_id", None)
                    model, stop_reason = message.model, message.stop_reason
                    calls = [block for block in message.content if block.type == "tool_use"]
                    # Out of turns: the calls of this last turn are not run (their results
                    # could never be sent); leaving the loop is how the runner skips them.
                    out_of_turns = stop_reason == "tool_use" and turns >= config.max_turns
                    for call in calls:
                        line = masker.text(describe_call(call.name, call.input))
                        if out_of_turns:
                            line += " (not run: max_turns reached)"
                        await say(("" if at_line_start else "\n") + line + "\n")
                    results = None
                    if calls and stop_reason == "tool_use" and not out_of_turns:
                        await looking  # the workdir as it was, before any tool touches it
                        results = await runner.generate_tool_call_response()
                    transcript.turn(
                        {
                            "turn": turns,
                            "text": "".join(texts),
                            "tool_calls": [
                                {"id": c.id, "name": c.name, "input": c.input} for c in calls
                            ],
                            "tool_results": _tool_results(results),
                            "stop_reason": stop_reason,
                            "usage": totals.add(message.usage),
                        }
                    )
                    if out_of_turns:
                        break
        except ExecutorError:
            raise
        except Exception as err:
            mapped = map_error(err, model=config.model, api_key=api_key, mid_stream=turns > 0)
            if mapped is None:
                raise
            mapped.request_id = mapped.request_id or request_id
            raise mapped from (None if api_key in f"{err} {err!r}" else err)
        finally:
            transcript.close()
        before = await looking
        after = await asyncio.get_running_loop().run_in_executor(WORKDIR_POOL, snapshot, workdir)
        files = written_since(before, after)
        result = AttemptResult(
            model=model,
            input_tokens=totals.input,
            output_tokens=totals.output,
            request_id=request_id,
            stop_reason=stop_reason,
            turns=turns,
            cache_read_tokens=totals.cache_read,
            cache_write_tokens=totals.cache_write,
            files=files,
        )
        if stop_reason == "tool_use":
            error = ExecutorError(
                f"stopped after {turns} turns (max_turns: {config.max_turns}) while the agent was "
                "still calling tools; raise max_turns or narrow the prompt",
                transient=False,
            )
            error.result = result  # the tokens and files of the turns it made are recorded
            raise error
        return result

    async def _tools(
        self, stack: contextlib.AsyncExitStack, request: RunRequest, workdir: Path
    ) -> list[Any]:
        """The tools offered: the chosen toolset tools bound to a fresh context, then MCP's."""
        from anthropic.lib.tools import agent_toolset as kit

        config = request.config
        assert request.task_dir is not None
        context = kit.AgentToolContext(
            workdir=str(workdir),
            allowed_roots=list(config.allowed_path_list(request.task_dir)),
            env=bash_env({**request.env, **config.environment}),
            read_only_roots=task_files(request.task_dir),
        )
        # Entered here and closed with the attempt: the Messages runner never closes bash.
        ctx = await stack.enter_async_context(context)
        stack.enter_context(bound(ctx))  # the shared file tools act on this attempt's context
        tools = tools_for(config.tools, ctx)
        for server in config.mcp_servers:
            tools.extend(await _mcp_tools(stack, server, request.task_dir))
        return tools


def _tool_results(message: object) -> list[dict[str, Any]]:
    """The tool_result blocks of the runner's tool response, bounded for the transcript."""
    content = message.get("content") if isinstance(message, dict) else None
    out = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            out.append(
                {
                    "tool_use_id": block.get("tool_use_id"),
                    "is_error": bool(block.get("is_error")),
                    "content": _result_text(block.get("content")),
                }
            )
    return out


async def _mcp_tools(
    stack: contextlib.AsyncExitStack, server: McpServer, task_dir: Path
) -> Sequence[Any]:
    """Connect to one MCP server for the attempt; its tools as runnable tools.

    A stdio server is a child process of this attempt, started in the task folder and stopped
    when the attempt ends; its stderr goes to /dev/null (never onto the app's terminal).
    """
    from anthropic.lib.tools.mcp import async_mcp_tool
    from mcp.client.session import ClientSession

    try:
        if server.command:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            argv = server.argv(task_dir)
            params = StdioServerParameters(
                command=argv[0],
                args=list(argv[1:]),
                env={**bash_env({}), **server.env},
                cwd=str(task_dir),
            )
            # The server's stderr must not reach the terminal the app draws on.
            devnull = stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115
            read, write = await stack.enter_async_context(stdio_client(params, errlog=devnull))
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            # Headers (tokens) go on our own client; the server's url is the only other input.
            timeout = httpx2.Timeout(30.0, read=300.0)
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=dict(server.headers), timeout=timeout, follow_redirects=True
                )
            )
            read, write = await stack.enter_async_context(
                streamable_http_client(server.url or "", http_client=http)
            )
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        listed = await session.list_tools()
    except Exception as exc:
        raise ExecutorError(
            f"MCP server {server.name!r} did not start: {type(exc).__name__}: {exc}",
            transient=True,
        ) from None
    return [async_mcp_tool(tool, session) for tool in listed.tools]
