"""The agent toolset's file tools, built once and bound to each attempt's context.

Building one of the SDK's toolset tools (``beta_read_tool(ctx)`` and the like) costs about a
millisecond of pydantic work (its input model's JSON schema and ``validate_call`` over the tool
function), all of it on the event loop. Built per attempt, five tools for each of 100 runs due
together held the loop for about half a second before the last run could send its request.

The file tools (read, write, edit, glob, grep) keep no state of their own: on every call they
read the context's fields (workdir, allowed and read-only roots, size limits). So they are built
once per process, over :class:`_AttemptContext`, a stand-in that reads those fields from the
:class:`AgentToolContext` of the attempt running in the current asyncio task; the runner sets it
with :func:`bound` when it enters the attempt's context. Tool calls run in the attempt's own task
(and threads it starts copy its context), so each call sees its own attempt's context.
``bash`` keeps a shell per tool instance, so it is still built for each attempt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["FILE_TOOLS", "bound", "prepare_shared_tools", "tools_for"]

#: The toolset's tools that keep no state between calls: shared by every attempt.
FILE_TOOLS = ("read", "write", "edit", "glob", "grep")

_current: ContextVar[Any] = ContextVar("bassi_agent_tool_context")
_shared: dict[str, Any] = {}


class _AttemptContext:
    """Reads and writes go to the current attempt's AgentToolContext (see the module doc)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(_current.get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_current.get(), name, value)


@contextlib.contextmanager
def bound(ctx: Any) -> Iterator[None]:
    """Make ``ctx`` the context of the shared tools' calls in this task until the block ends."""
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)


def _factories() -> dict[str, Callable[[Any], Any]]:
    from anthropic.lib.tools import agent_toolset as kit

    return {
        "read": kit.beta_read_tool,
        "write": kit.beta_write_tool,
        "edit": kit.beta_edit_tool,
        "glob": kit.beta_glob_tool,
        "grep": kit.beta_grep_tool,
        "bash": kit.beta_bash_tool,
    }


def _shared_tool(name: str, factories: dict[str, Callable[[Any], Any]]) -> Any:
    tool = _shared.get(name)
    if tool is None:
        tool = _shared.setdefault(name, factories[name](_AttemptContext()))
    return tool


def prepare_shared_tools() -> None:
    """Build the shared file tools now (blocking: call in the start-up warm-up thread)."""
    factories = _factories()
    for name in FILE_TOOLS:
        _shared_tool(name, factories)


def tools_for(names: tuple[str, ...] | list[str], ctx: Any) -> list[Any]:
    """The tools called ``names``: the shared file tools, and bash built over ``ctx``.

    The shared ones act on the context :func:`bound` set in the calling task, so the caller
    binds ``ctx`` for the attempt.
    """
    factories = _factories()
    tools = []
    for name in names:
        if name in FILE_TOOLS:
            tools.append(_shared_tool(name, factories))
        else:
            tools.append(factories[name](ctx))
    return tools
