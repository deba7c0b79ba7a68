"""What the seeds ask a customer to send, and which of it a message seems to lack (a heuristic, ES and EN)."""

from __future__ import annotations

import re
from enum import StrEnum

from mailbot.domain.messages import InboundMessage
from mailbot.policy.classify import fold


class Detail(StrEnum):
    PRODUCT = "product"
    VERSION = "version"
    OPERATING_SYSTEM = "operating_system"
    ERROR_MESSAGE = "error_message"
    LOGS = "logs"


VERSION = re.compile(
    r"\b(?:v|version|versión|ver\.?|release|build|compilacion|firmware|fw)\s*:?\s*\d+(?:[.\-_]\d+)*\b|\b\d{1,3}\.\d{1,4}(?:\.\d+)*\b"
)
OPERATING_SYSTEM = re.compile(
    r"\bwindows(?: server)?\b|\bwin ?(?:7|8|10|11)\b|\blinux\b|\bubuntu\b|\bdebian\b|\bcentos\b|\bred ?hat\b|\brhel\b"
    r"|\bsuse\b|\bfedora\b|\bmac ?os\b|\bosx\b|\bios\b|\bandroid\b|\besxi\b|\bvmware\b|\baix\b|\bsolaris\b"
    r"|\bsistema operativo\b|\boperating system\b|\bfreebsd\b|\bfortios\b|\bpan-os\b"
)
ERROR_MESSAGE = re.compile(
    r"\berror(?:es)?\b|\bexcepcion\b|\bexception\b|\bcodigo de error\b|\berror code\b|\bfallo\b|\bfailed\b"
    r"|\bfailure\b|\bwarning\b|\badvertencia\b|\btraceback\b|\bstack trace\b|\b0x[0-9a-f]{4,}\b|\b[a-z]{1,4}-?\d{3,5}\b"
    r"|\"[^\"]{8,}\"|«[^»]{8,}»"
)
LOG_WORDS = re.compile(r"\blogs?\b|\bregistros?\b|\bbitacora\b|\bconfig(?:uracion|uration)?\b|\bcaptura\b|\bscreenshot\b|\bdump\b")
PRODUCT_HINT = re.compile(r"\b(?:producto|product|equipo|device|appliance|modelo|model|software|solucion|solution)\b\s*:?\s*\S+")
LOG_TYPES = ("text/", "application/")
TYPES_WITH_DETAILS = frozenset({"problem", "rma"})


def missing_details(message: InboundMessage, ticket_type: str, products: tuple[str, ...] = ()) -> tuple[Detail, ...]:
    """Details a problem report seems to lack; questions and requests are not asked for logs."""
    text = fold(message.subject + "\n" + message.text)
    lacking: list[Detail] = []
    if not mentions_product(text, products):
        lacking.append(Detail.PRODUCT)
    if not VERSION.search(text):
        lacking.append(Detail.VERSION)
    if ticket_type in TYPES_WITH_DETAILS:
        if not OPERATING_SYSTEM.search(text):
            lacking.append(Detail.OPERATING_SYSTEM)
        if not ERROR_MESSAGE.search(text):
            lacking.append(Detail.ERROR_MESSAGE)
        if not any(is_log_like(attachment.content_type, attachment.filename) for attachment in message.attachments):
            lacking.append(Detail.LOGS)
    return tuple(lacking)


def is_log_like(content_type: str, filename: str) -> bool:
    """Logs, configuration and archives count; a signature's logo (image001.png) does not."""
    return content_type.startswith(LOG_TYPES) or filename.lower().endswith((".log", ".txt", ".cfg", ".conf", ".zip", ".gz"))


def mentions_product(text: str, products: tuple[str, ...]) -> bool:
    if products:
        return any(fold(product) in text for product in products)
    # Without a catalogue: "producto: X", or a name right before a version number ("FortiGate 7.2").
    return bool(PRODUCT_HINT.search(text) or NAME_BEFORE_VERSION.search(text))


NAME_BEFORE_VERSION = re.compile(r"\b(?!(?:version|versión|release|build|firmware|la|el|the|to|a)\b)[a-z][\w-]{2,}\s+v?\d+\.\d+")
