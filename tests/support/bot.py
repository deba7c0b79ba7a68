"""Wire a real mailbot for tests: a TOML config file, a migrated database and a seeded directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from mailbot.clock import Clock
from mailbot.config import load_settings
from mailbot.db.engine import build_engine
from mailbot.db.migrate import upgrade_to_head
from mailbot.directory.files import read_directory_file
from mailbot.directory.importer import import_directory
from mailbot.app import App, build_app

SUPPORT_ADDRESS = "support@example.test"

DIRECTORY_TOML = """
[[accounts]]
key = "acme"
name = "ACME Iberia S.L."
plan = "standard"
language = "es"
timezone = "Europe/Madrid"
contracts = [{ reference = "ACME-1", starts_on = 2020-01-01, ends_on = 2099-12-31 }]
contacts = [
  { email = "ana@acme.test", name = "Ana García" },
  { email = "pedro@acme.test", name = "Pedro López" },
]

[[accounts]]
key = "globex"
name = "Globex"
plan = "advanced"
language = "en"
timezone = "America/New_York"
contracts = [{ reference = "GLX-1", starts_on = 2020-01-01 }]
contacts = [{ email = "john@globex.test", name = "John Smith" }]

[[accounts]]
key = "oldco"
name = "OldCo"
plan = "standard"
contracts = [{ reference = "OLD-1", starts_on = 2020-01-01, ends_on = 2021-12-31 }]
contacts = [{ email = "luis@oldco.test", name = "Luis Pérez" }]
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, date):
        return value.isoformat()
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_document(sections: dict[str, Any], top: dict[str, Any] | None = None) -> str:
    lines: list[str] = [f"{key} = {toml_value(value)}" for key, value in (top or {}).items()]
    for name, values in sections.items():
        for table in values if isinstance(values, list) else [values]:
            lines.append(f"[[{name}]]" if isinstance(values, list) else f"[{name}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
            lines.append("")
    return "\n".join(lines)


def imap_source(dovecot: Any, user: str, folder_dir: Path, **overrides: Any) -> dict[str, Any]:
    password_file = folder_dir / "imap-password"
    password_file.write_text("secret\n")
    return {
        "kind": "imap", "host": dovecot.host, "port": dovecot.imap_port, "tls": "none", "user": user,
        "password_file": str(password_file), "poll_interval_seconds": 0.5, **overrides,
    }


def smtp_delivery(sink: Any) -> dict[str, Any]:
    return {"kind": "smtp", "host": sink.host, "port": sink.port, "tls": "none"}


def write_config(
    folder: Path, *, db_url: str, source: dict[str, Any], delivery: dict[str, Any], presets: tuple[str, ...] = (),
    directory: str = DIRECTORY_TOML, **sections: dict[str, Any]
) -> Path:
    document = {
        "support": {"address": SUPPORT_ADDRESS, "display_name": "ACME Support", "case_prefix": "LC",
                    "default_timezone": "Europe/Madrid"},
        "database": {"url": db_url},
        "source": source,
        "delivery": delivery,
        "outbox": {"backoff_initial_seconds": 1, "backoff_max_seconds": 4},
        **({} if presets else {"plans.standard": {"display_name": "Standard"}, "plans.advanced": {"display_name": "Advanced"}}),
        **{name.replace("__", "."): values for name, values in sections.items()},
    }
    path = folder / "mailbot.toml"
    path.write_text(toml_document(document, {"presets": list(presets)} if presets else None))
    (folder / "directory.toml").write_text(directory)
    return path


def prepared_app(config: Path, clock: Clock | None = None, *, seed: bool = True) -> App:
    """Migrate the database and import the test directory; returns the wired app."""
    settings = load_settings(config)
    engine = build_engine(settings.database.url)
    upgrade_to_head(engine)
    engine.dispose()
    app = build_app(settings, clock)
    if seed:
        with app.sessions() as session:
            import_directory(session, read_directory_file(config.parent / "directory.toml"), settings.plans,
                             "directory.toml", app.clock.now())
            session.commit()
    return app
