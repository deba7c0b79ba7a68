"""Allow `python -m mailbot ...`."""

from mailbot.entrypoints.cli import main

raise SystemExit(main())
