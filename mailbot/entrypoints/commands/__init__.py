"""Subcommands of `mailbot`, one module each with `add_arguments(parser)`, listed in entrypoints/cli.py's COMMANDS."""
