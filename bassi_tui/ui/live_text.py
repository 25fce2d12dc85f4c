"""Running tasks' output held in memory as it streams, as lines a viewer can show.

Chunks arrive batched (the app flushes a buffer a few times a second) and are split into lines
here. The text is capped (``LIMIT`` characters) so a runaway stream cannot eat the memory: past
it, the live view stops growing and says so; the result file still gets everything.
"""

from __future__ import annotations

from bassi_tui.scheduler.events import EngineEvent, RunOutput, RunRetrying, RunStarted
from bassi_tui.store.result_text import LINE_CUT

LIMIT = 8 * 1024 * 1024


class LiveText:
    """The streamed text of one run (``run_id``), split into lines; satisfies ``Document``."""

    wrappable = True

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._lines: list[str] = [""]
        self.size = 0
        self.max_width = 0
        self.truncated = False
        #: Bumped on every change, so a viewer knows when to look again.
        self.version = 0
        #: Bumped when the text starts over, so a viewer drops what it wrapped before.
        self.resets = 0

    @property
    def line_count(self) -> int:
        """Lines so far; a last line still being written counts once it has text."""
        if self._lines[-1] == "":
            return len(self._lines) - 1
        return len(self._lines)

    def line(self, index: int) -> str:
        """Line ``index`` (0-based)."""
        return self._lines[index]

    def append(self, text: str) -> None:
        """Add streamed text (any number of lines, partial lines welcome)."""
        if not text or self.truncated:
            return
        room = LIMIT - self.size
        if len(text) > room:
            text = text[:room]
            self.truncated = True
        self.size += len(text)
        parts = text.replace("\r\n", "\n").split("\n")
        last = self._lines[-1]
        if len(last) < LINE_CUT:
            self._lines[-1] = (last + parts[0])[: LINE_CUT + 1]
        self._lines.extend(part[: LINE_CUT + 1] for part in parts[1:])
        self.max_width = max(self.max_width, *(len(p) for p in parts), len(self._lines[-1]))
        if self.truncated:
            self._lines.append(
                f"… (live view stops at {LIMIT // 1024 // 1024} MB; the result file has everything)"
            )
            self._lines.append("")
        self.version += 1

    def clear(self) -> None:
        """Forget everything (a retry starts the text over)."""
        self._lines = [""]
        self.size = 0
        self.max_width = 0
        self.truncated = False
        self.version += 1
        self.resets += 1


class LiveOutputs:
    """The live text of every run in flight, with the chunks that arrived since the last flush.

    The app feeds it every engine event (``take``) synchronously, which only appends to a list;
    a timer calls ``flush`` a few times a second to turn the chunks into lines.
    """

    def __init__(self) -> None:
        self._live: dict[str, LiveText] = {}
        self._pending: dict[str, list[str]] = {}

    def take(self, event: EngineEvent) -> bool:
        """Note what ``event`` means for live output; True when it was output (nothing else)."""
        if isinstance(event, RunOutput):
            live = self._live.get(event.task)
            if live is not None and live.run_id == event.run_id:
                self._pending.setdefault(event.task, []).append(event.text)
            return True
        if isinstance(event, RunStarted):
            self._pending.pop(event.task, None)
            if event.streams:
                self._live[event.task] = LiveText(event.run_id)
            else:  # another instance's run: its text is read from its result file
                self._live.pop(event.task, None)
        elif isinstance(event, RunRetrying):
            live = self._live.get(event.task)
            if live is not None and live.run_id == event.run_id:
                self._pending.pop(event.task, None)
                live.clear()
        return False

    def flush(self) -> set[str]:
        """Move buffered chunks into the texts; the tasks whose text grew."""
        grew = set()
        for task, chunks in self._pending.items():
            if (live := self._live.get(task)) is not None:
                live.append("".join(chunks))
                grew.add(task)
        self._pending.clear()
        return grew

    def get(self, task: str) -> LiveText | None:
        """The live text of ``task``'s run in flight, if any."""
        return self._live.get(task)

    def end(self, task: str) -> None:
        """The run of ``task`` finished: flush it and forget it (its file has the text)."""
        self.flush()
        self._live.pop(task, None)

    def __contains__(self, task: object) -> bool:
        return task in self._live
