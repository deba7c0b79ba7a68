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
    SAMPLE_CODE = "sample_code"  # seed 001: "código de ejemplo que permita aislar y reproducir el problema (si aplica)"


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
# "If applicable" read as: a problem with software the customer builds on (an API, SDK, script, integration,
# query, report or IVR flow). Hardware, RMA and plain product faults are never asked for code.
PROGRAMMING = re.compile(
    r"\bapi\b|\bsdk\b|\bscripts?\b|\bcodigo fuente\b|\bsource code\b|\bour code\b|\bnuestro codigo\b|\bintegraci(?:on|ones)\b"
    r"|\bintegrations?\b|\bweb ?services?\b|\bwebhooks?\b|\bjson\b|\bxml\b|\bconsultas? sql\b"
    r"|\bsql quer(?:y|ies)\b|\bstored procedures?\b|\bprocedimientos? almacenados?\b|\blibreria\b|\blibrary\b|\bplugins?\b"
    r"|\bmacros?\b|\bflujo(?:s)? ivr\b|\bivr flows?\b"
)
# Code the customer already sent: a fenced or indented snippet, a typical line of code, or a source file.
CODE_IN_TEXT = re.compile(r"```|^(?: {4}|\t)\S|\b(?:def|function|select|public|class|import)\b[^\n]*[({;=]", re.MULTILINE)
CODE_FILES = (".py", ".js", ".ts", ".java", ".cs", ".php", ".sql", ".xml", ".json", ".sh", ".ps1", ".vb", ".rb", ".go")
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
    if ticket_type == "problem" and is_about_code(text) and not has_sample_code(message):
        lacking.append(Detail.SAMPLE_CODE)
    return tuple(lacking)


def is_about_code(folded_text: str) -> bool:
    return bool(PROGRAMMING.search(folded_text))


def has_sample_code(message: InboundMessage) -> bool:
    return bool(CODE_IN_TEXT.search(message.text)) or any(
        attachment.filename.lower().endswith(CODE_FILES) for attachment in message.attachments)


def is_log_like(content_type: str, filename: str) -> bool:
    """Logs, configuration and archives count; a signature's logo (image001.png) does not."""
    return content_type.startswith(LOG_TYPES) or filename.lower().endswith((".log", ".txt", ".cfg", ".conf", ".zip", ".gz"))


def mentions_product(text: str, products: tuple[str, ...]) -> bool:
    if products:
        return any(fold(product) in text for product in products)
    # Without a catalogue: "producto: X", or a name right before a version number ("FortiGate 7.2").
    return bool(PRODUCT_HINT.search(text) or NAME_BEFORE_VERSION.search(text))


NAME_BEFORE_VERSION = re.compile(r"\b(?!(?:version|versión|release|build|firmware|la|el|the|to|a)\b)[a-z][\w-]{2,}\s+v?\d+\.\d+")
