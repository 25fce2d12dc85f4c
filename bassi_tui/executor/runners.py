"""The runner for each executor name in config.yaml, one shared instance per name.

Shared so the anthropic runner's HTTP clients (and their connection pools) are reused across
runs. Building a runner is cheap: nothing here imports the anthropic SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bassi_tui.executor.agent_runner import AgentRunner
from bassi_tui.executor.anthropic_runner import AnthropicRunner
from bassi_tui.executor.base import Runner
from bassi_tui.executor.command_runner import CommandRunner
from bassi_tui.executor.echo_runner import EchoRunner
from bassi_tui.executor.sdk_import import import_modules

__all__ = ["RUNNER_NAMES", "close_runners", "get_runner", "warm_up"]

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
    names = [module for name in sorted(set(executors)) for module in _HEAVY_IMPORTS.get(name, ())]
    return import_modules(names)
