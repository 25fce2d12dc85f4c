"""The domain packages never import Textual or Rich (house rule 1), proven in a clean process."""

from __future__ import annotations

import subprocess
import sys

import pytest

DOMAIN_MODULES = [
    "bassi_tui.store.parse",
    "bassi_tui.store.watcher",
    "bassi_tui.store.results",
    "bassi_tui.scheduler.engine",
    "bassi_tui.scheduler.runs",
    "bassi_tui.executor.anthropic_runner",
    "bassi_tui.executor.command_runner",
    "bassi_tui.commands",
]


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_domain_module_does_not_import_textual_or_rich(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} pulled in {out}"


def test_the_check_really_sees_textual() -> None:
    # Guard against a vacuous pass: the same probe does see textual when it is imported.
    code = "import sys, textual.app\nprint('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_anthropic_is_imported_lazily() -> None:
    code = "import sys, bassi_tui.scheduler.engine\nprint('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
