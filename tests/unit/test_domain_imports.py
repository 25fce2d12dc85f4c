"""The domain packages never import Textual or Rich (house rule 1), proven in a clean process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DOMAIN_MODULES = [
    "bassi_tui.store.parse",
    "bassi_tui.store.watcher",
    "bassi_tui.store.results",
    "bassi_tui.scheduler.engine",
    "bassi_tui.scheduler.runs",
    "bassi_tui.executor.anthropic_runner",
    "bassi_tui.executor.command_runner",
    "bassi_tui.executor.agent_runner",
    "bassi_tui.demo_model",
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


def readme_test_command() -> str:
    """The single command of the README's "Run the tests:" block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    _, found, rest = text.partition("Run the tests:\n\n```sh\n")
    assert found, 'README.md has no "Run the tests:" sh block'
    block, closed, _ = rest.partition("\n```")
    assert closed, 'the README\'s "Run the tests:" block is not closed'
    return block.strip()


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    command = readme_test_command()
    assert "\n" not in command, "the README's test command must stay one line"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci, f".ci/run does not run the README's test command: {command}"
    assert "set -euo pipefail" in ci
    # From scratch: the old venv goes before the command makes a new one.
    assert ci.index("rm -rf .venv") < ci.index(command)


def test_the_readme_test_command_runs_every_check_and_pytest_last() -> None:
    steps = [step.strip() for step in readme_test_command().split("&&")]
    assert steps == [
        "python3 -m venv .venv",
        ".venv/bin/pip install -e '.[test]'",
        ".venv/bin/ruff check",
        ".venv/bin/ruff format --check",
        ".venv/bin/mypy",
        ".venv/bin/lint-imports",
        ".venv/bin/python -m pytest",
    ]


@pytest.mark.parametrize(("config", "imported"), [(None, True), ("executor: echo\n", False)])
def test_a_start_with_agent_tasks_imports_the_sdk_in_the_background(
    tmp_path: Path, config: str | None, imported: bool
) -> None:
    from tests.helpers import make_task

    make_task(tmp_path, "t", config=config)  # no config.yaml: the agent executor
    code = (
        "import asyncio, sys, pathlib\n"
        "from bassi_tui.scheduler.engine import Engine\n"
        "async def main():\n"
        f"    engine = Engine(pathlib.Path({str(tmp_path)!r}), watch=False)\n"
        "    await engine.start()\n"
        "    await engine.stop()\n"
        # asyncio.run waits for the loop's worker threads: a background import has finished.
        "asyncio.run(main())\n"
        "print('anthropic.lib.tools.agent_toolset' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == str(imported)


def test_threads_importing_the_sdk_at_once_each_get_it_whole() -> None:
    # The warm-up thread and a run's first attempt can ask for the SDK at the same moment;
    # unserialised, one of them got a partially initialised module (an ImportError).
    code = (
        "import threading\n"
        "from bassi_tui.executor.sdk_import import import_modules\n"
        "errors = []\n"
        "def go():\n"
        "    try:\n"
        "        import_modules(['anthropic', 'anthropic.lib.tools.agent_toolset'])\n"
        "        from anthropic import AsyncAnthropic  # usable, not half-made\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=go) for _ in range(4)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(errors)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == "[]"
