"""Words the templates need in each language: ticket types, priorities, details, dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LABELS: dict[str, dict[str, Any]] = {
    "es": {
        "ticket_types": {"problem": "problema", "question": "consulta", "request": "solicitud",
                         "maintenance": "mantenimiento preventivo", "rma": "garantía (RMA)"},
        "priorities": {"A1": "A1 (impacto crítico)", "B2": "B2 (impacto moderado)", "C3": "C3 (impacto mínimo)",
                       "P1": "P1 (sistema caído)", "P2": "P2 (operativo pero seriamente afectado)",
                       "P3": "P3 (problema o consulta con solución temporal)", "P4": "P4 (solicitud de información)"},
        "details": {"product": "nombre del producto", "version": "versión y build",
                    "operating_system": "sistema operativo", "error_message": "mensaje o código de error",
                    "logs": "logs o archivos de configuración (adjuntos)"},
        "weekdays": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        "months": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                   "octubre", "noviembre", "diciembre"),
        "date": "{weekday} {day} de {month} de {year}",
        "time": "{date}, {hour:02d}:{minute:02d} (hora de {zone})",
    },
    "en": {
        "ticket_types": {"problem": "problem", "question": "question", "request": "request",
                         "maintenance": "preventive maintenance", "rma": "warranty claim (RMA)"},
        "priorities": {"A1": "A1 (critical impact)", "B2": "B2 (moderate impact)", "C3": "C3 (minimal impact)",
                       "P1": "P1 (system down)", "P2": "P2 (operational but seriously affected)",
                       "P3": "P3 (problem or question with a workaround)", "P4": "P4 (information request)"},
        "details": {"product": "product name", "version": "version and build", "operating_system": "operating system",
                    "error_message": "error message or code", "logs": "logs or configuration files (attached)"},
        "weekdays": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "months": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December"),
        "date": "{weekday} {day} {month} {year}",
        "time": "{date}, {hour:02d}:{minute:02d} ({zone} time)",
    },
}


def labels(language: str) -> dict[str, Any]:
    return LABELS.get(language, LABELS["en"])


def long_local_date(day: date, language: str) -> str:
    words = labels(language)
    return words["date"].format(weekday=words["weekdays"][day.weekday()], day=day.day,
                                month=words["months"][day.month - 1], year=day.year)


def long_local_time(moment: datetime, zone: ZoneInfo, language: str) -> str:
    local = moment.astimezone(zone)
    place = zone.key.split("/")[-1].replace("_", " ")
    return labels(language)["time"].format(date=long_local_date(local.date(), language), hour=local.hour,
                                           minute=local.minute, zone=place)
