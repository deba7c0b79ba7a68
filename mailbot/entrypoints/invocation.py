"""How the user started `mailbot`, so hints we print can be pasted back into the same shell and work."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def mailbot_command(argv0: str | None = None, executable: str | None = None, cwd: Path | None = None) -> str:
    """`mailbot` when that name finds this very script on PATH; else the script's path (`.venv/bin/mailbot`), or
    `python -m mailbot` with the interpreter that runs us. Paths inside the working directory stay relative."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    cwd = Path.cwd() if cwd is None else cwd
    script = Path(argv0)
    if script.name in ("__main__.py", "-m") or not argv0:
        return f"{shown_path(Path(executable), cwd)} -m mailbot"
    on_path = shutil.which(script.name)
    if on_path is not None and Path(on_path).resolve() == (cwd / script).resolve():
        return script.name
    return shown_path(script, cwd)


def shown_path(path: Path, cwd: Path) -> str:
    """Relative to the working directory when inside it (as an operator would type it), else absolute."""
    absolute = path if path.is_absolute() else cwd / path
    try:
        relative = absolute.relative_to(cwd)
    except ValueError:
        return shlex.quote(os.path.normpath(absolute))
    text = str(relative)
    # A bare name would be looked up on PATH instead of run from here.
    return shlex.quote(text if os.sep in text else f".{os.sep}{text}")
