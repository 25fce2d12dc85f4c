"""Placeholder: the fake Anthropic Messages server lands here (being written)."""
