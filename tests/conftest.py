"""Fixtures shared by every test: no test may reach the internet or see a real API key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.fake_anthropic"]


@pytest.fixture(autouse=True)
def _offline_anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the SDK at a closed loopback port and drop any real key from the environment.

    Tests that need the API start the fake server and override ANTHROPIC_BASE_URL themselves.
    """
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("BASSI_TASKS_DIR", raising=False)
    yield
