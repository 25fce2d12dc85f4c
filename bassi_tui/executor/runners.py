"""The runner for each executor name in config.yaml, one shared instance per name.

Shared so the anthropic runner's HTTP clients (and their connection pools) are reused across
runs. Building a runner is cheap: nothing here imports the anthropic SDK.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from bassi_tui.executor.agent_runner import AgentRunner
from bassi_tui.executor.agent_tools import prepare_shared_tools
from bassi_tui.executor.anthropic_runner import AnthropicRunner
from bassi_tui.executor.base import Runner
from bassi_tui.executor.command_runner import CommandRunner
from bassi_tui.executor.echo_runner import EchoRunner
from bassi_tui.executor.sdk_import import import_modules
from bassi_tui.executor.sdk_models import build_models

__all__ = ["RUNNER_NAMES", "close_runners", "get_runner", "warm_runners", "warm_up"]

_FACTORIES: dict[str, Callable[[], Runner]] = {
    "agent": AgentRunner,
    "anthropic": AnthropicRunner,
    "command": CommandRunner,
    "echo": EchoRunner,
}
RUNNER_NAMES: tuple[str, ...] = tuple(_FACTORIES)
"""Every executor name :func:`get_runner` knows."""

_instances: dict[str, Runner] = {}


def get_runner(name: str) -> Runner:
    """The shared runner for ``name``; ValueError for an unknown executor."""
    runner = _instances.get(name)
    if runner is None:
        factory = _FACTORIES.get(name)
        if factory is None:
            known = ", ".join(RUNNER_NAMES)
            raise ValueError(f"unknown executor {name!r}: expected one of {known}")
        runner = _instances[name] = factory()
    return runner


async def close_runners() -> None:
    """Close what the shared runners opened on the running loop (HTTP clients); at shutdown."""
    for runner in list(_instances.values()):
        aclose = getattr(runner, "aclose", None)
        if aclose is not None:
            await aclose()


#: What each executor imports on its first run (the SDK takes seconds to import).
_HEAVY_IMPORTS: dict[str, tuple[str, ...]] = {
    "agent": ("anthropic", "anthropic.lib.tools.agent_toolset"),
    "anthropic": ("anthropic",),
}


def warm_up(executors: Iterable[str]) -> list[str]:
    """Import what the named executors need, now (call in a thread at start-up); the modules
    that were imported.

    Importing the Anthropic SDK takes about two seconds; done on the first fire, it made the
    first runs after a launch seconds late. A start that has agent or anthropic tasks imports
    it in the background instead, while nothing is due yet; a run that needs it meanwhile waits
    for this import (one lock: see :mod:`bassi_tui.executor.sdk_import`).
    """
    chosen = sorted(set(executors))
    names = [module for name in chosen for module in _HEAVY_IMPORTS.get(name, ())]
    imported = import_modules(names)
    build_models(chosen)  # what a first run would build on the loop (see sdk_models)
    if "agent" in chosen:
        prepare_shared_tools()
    return imported


async def warm_runners(executors: Iterable[str]) -> None:
    """Make the named executors ready for their first run, off the event loop: import the SDK in
    a thread (:func:`warm_up`), then build their HTTP clients (a thread again). At start-up."""
    names = sorted(set(executors) & set(_HEAVY_IMPORTS))
    if not names:
        return
    await asyncio.to_thread(warm_up, names)
    for name in names:
        warm = getattr(get_runner(name), "warm", None)
        if warm is not None:
            await warm()
