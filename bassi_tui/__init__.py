"""bassi-tui: scheduled LLM prompts from plain task folders, run and watched from a terminal."""

__version__ = "0.1.0"
