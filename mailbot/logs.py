"""Structured logs: every line names what it concerns (message, case, source) as key=value or JSON."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

FIELDS_ATTRIBUTE = "fields"


def fields(**values: Any) -> dict[str, dict[str, Any]]:
    """`log.info("case opened", extra=fields(case=..., message_id=...))`."""
    return {FIELDS_ATTRIBUTE: {key: value for key, value in values.items() if value is not None}}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    value = getattr(record, FIELDS_ATTRIBUTE, None)
    return value if isinstance(value, dict) else {}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [stamp[:-4] + "Z", record.levelname.lower(), record.name, record.getMessage()]
        parts += [f"{key}={_quoted(value)}" for key, value in record_fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update(record_fields(record))
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def _quoted(value: Any) -> str:
    text = str(value)
    if not text or any(character.isspace() or character in "\"=" for character in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def configure_logging(level: str = "INFO", output_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if output_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "imapclient", "aiosmtplib", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
