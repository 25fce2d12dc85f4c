"""Allow ``python -m bassi_tui``."""

from bassi_tui.cli import main

raise SystemExit(main())
