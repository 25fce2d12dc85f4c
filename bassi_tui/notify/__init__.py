"""Telling people about runs: channels (the log, Apprise URLs, a command), when to send, and
masking the secrets channel URLs carry. Never imports Textual."""
