"""The offline ``echo`` executor: the result is the prompt itself, streamed line by line.

It exists so the demo and the tests can exercise the whole pipeline (scheduling, streaming into
result files, the UI) with no API key and no network.
"""

from __future__ import annotations

import asyncio

from bassi_tui.executor.base import AttemptResult, RunRequest, TextSink

__all__ = ["EchoRunner", "rough_token_count"]


def rough_token_count(text: str) -> int:
    """About four characters per token, the usual rule of thumb for English text."""
    return (len(text) + 3) // 4


class EchoRunner:
    """Streams ``request.prompt`` (already expanded) back through ``on_text``.

    ``chunk_delay`` pauses between lines so a demo run is visibly a stream; it defaults to 0
    (yield to the loop only) so tests stay fast.
    """

    name: str = "echo"

    def __init__(self, chunk_delay: float = 0.0) -> None:
        self.chunk_delay = chunk_delay

    async def run(self, request: RunRequest, on_text: TextSink) -> AttemptResult:
        """Send each line of the prompt to ``on_text`` in order; never fails by itself."""
        for line in request.prompt.splitlines(keepends=True):
            await on_text(line)
            # Yield between chunks like a real stream would, so cancellation and UI updates
            # interleave with the run instead of waiting for it to finish.
            await asyncio.sleep(self.chunk_delay)
        tokens = rough_token_count(request.prompt)
        return AttemptResult(
            model="echo", input_tokens=tokens, output_tokens=tokens, stop_reason="end_turn"
        )
