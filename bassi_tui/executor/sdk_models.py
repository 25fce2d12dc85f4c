"""Building, ahead of the first run, the SDK models a run's answer is parsed into.

The SDK defers building each pydantic model until its first use (``DEFER_PYDANTIC_BUILD``), so
that importing it stays at about two seconds. The first run after a launch then built a dozen
models on the event loop: about 200 ms for an agent run, 50 ms for a plain call, all of it
before the first fire's text could appear. :func:`build_models` builds them in the start-up
warm-up thread instead.

The names are the models a streamed Messages answer (text and tool use) and the agent
toolset's inputs are built into, as found by counting ``model_rebuild`` calls on a first run.
They belong to the SDK: a name a later SDK no longer has is skipped, and a model missing from
the list is still built on first use, as before; only the head start is lost.
"""

from __future__ import annotations

import importlib
import logging

__all__ = ["MODELS", "build_models"]

log = logging.getLogger(__name__)

_BETA = "anthropic.types.beta"
_INPUT = f"{_BETA}.beta_managed_agents_agent_toolset20260401_{{}}_input"

#: (module, class) of the models built ahead, by executor.
MODELS: dict[str, tuple[tuple[str, str], ...]] = {
    "anthropic": (
        ("anthropic.types.message", "Message"),
        ("anthropic.types.usage", "Usage"),
        ("anthropic.types.parsed_message", "ParsedMessage"),
        ("anthropic.types.text_block", "TextBlock"),
    ),
    "agent": (
        ("anthropic.lib.streaming._beta_types", "ParsedBetaMessageStopEvent"),
        ("anthropic.lib.streaming._beta_types", "ParsedBetaContentBlockStopEvent"),
        ("anthropic._base_client", "BasePage"),
        ("anthropic._base_client", "BaseAsyncPage"),
        (f"{_BETA}.beta_message", "BetaMessage"),
        (f"{_BETA}.beta_usage", "BetaUsage"),
        (f"{_BETA}.parsed_beta_message", "ParsedBetaMessage"),
        (f"{_BETA}.beta_text_block", "BetaTextBlock"),
        (f"{_BETA}.beta_tool_use_block", "BetaToolUseBlock"),
        *(
            (_INPUT.format(tool), f"BetaManagedAgentsAgentToolset20260401{tool.title()}Input")
            for tool in ("read", "write", "edit", "glob", "grep", "bash")
        ),
    ),
}


def build_models(executors: list[str]) -> int:
    """Build the models the named executors' runs use (blocking; the SDK must be imported
    already); how many were built now."""
    built = 0
    for executor in executors:
        for module_name, name in MODELS.get(executor, ()):
            try:
                model = getattr(importlib.import_module(module_name), name)
                if not model.__pydantic_complete__:
                    model.model_rebuild()
                    built += 1
            except Exception as exc:  # another SDK version: this one is built on first use
                log.debug("not built ahead: %s.%s (%s)", module_name, name, exc)
    return built
