"""config.yaml ``when:``: conditions a scheduled fire must meet to run.

::

    when:
      file_exists: _DATA_FROM_USER/sales.csv     # a path or a list; relative to the task folder
      file_changed: [inbox/orders.json]          # changed since this task's last run
      command: [python3, is_business_hour.py]    # exit 0 means go (in the task folder)

Every condition must hold. A fire that does not meet them is recorded as skipped with the
reason; it costs no API call and is not a failure. A run started by a person (``r``,
``bassi-tui run``) is not held back: asking is the condition.
"""

from __future__ import annotations

from bassi_tui.store.models import WhenConfig
from bassi_tui.store.parse_common import Field, Report, fields, opt, read_argv
from bassi_tui.store.parse_expect import read_texts
from bassi_tui.store.yamlio import YMap, kind

__all__ = ["WHEN_KEYS", "read_when"]

WHEN_KEYS = ("file_exists", "file_changed", "command")


def read_when(f: Field, report: Report) -> WhenConfig | None:
    """``when:``, a mapping of conditions; ``None`` (no condition) if it is not a mapping."""
    if not isinstance(f.node, YMap):
        report.add(
            f.line, f"when: expected a mapping of {', '.join(WHEN_KEYS)}, got {kind(f.node)}"
        )
        return None
    got = fields(f.node, WHEN_KEYS, report, prefix="when.")
    d = WhenConfig()
    return WhenConfig(
        file_exists=opt(got, "file_exists", lambda x: read_texts(x, report, "when"), d.file_exists),
        file_changed=opt(
            got, "file_changed", lambda x: read_texts(x, report, "when"), d.file_changed
        ),
        command=opt(
            got,
            "command",
            lambda x: read_argv(x, report, "when.command", 'e.g. ["python3", "is_open.py"]'),
            d.command,
        ),
    )
