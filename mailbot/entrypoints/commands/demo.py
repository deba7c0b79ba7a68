"""`mailbot demo [DIR]`: try the bot without a server (the try-out itself is entrypoints/demo.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mailbot.entrypoints.demo import run_demo


def add_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("directory", nargs="?", type=Path, default=Path("mailbot-demo"))
    demo.set_defaults(handler=lambda arguments: run_demo(arguments.directory))
