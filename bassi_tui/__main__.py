"""Allow ``python -m bassi_tui``."""

from bassi_tui.cli import main

if __name__ == "__main__":  # a spawned worker process imports this module too: it must not run
    raise SystemExit(main())
