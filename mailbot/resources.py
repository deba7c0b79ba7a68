"""Where shipped files live: inside the installed wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def shipped_dir(name: str) -> Path:
    """`templates` or `config`: the wheel carries them as mailbot/_<name>; an editable install uses the checkout."""
    for candidate in (PACKAGE_DIR / f"_{name}", CHECKOUT_DIR / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name!r} not found (looked in {PACKAGE_DIR} and {CHECKOUT_DIR})")


def templates_dir() -> Path:
    return shipped_dir("templates")


def config_dir() -> Path:
    return shipped_dir("config")
