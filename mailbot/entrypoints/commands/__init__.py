"""Subcommands of `mailbot`, one module each, registered by entrypoints/cli.py."""
