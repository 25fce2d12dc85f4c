"""Executors: anthropic (streaming), command, echo; prompt templates; retries.

Never imports textual or rich.
"""
