"""The catalogue of words mail needs in each language: statuses, close reasons, types, priorities, errors, dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mailbot.policy.commands import CommandError

LABELS: dict[str, dict[str, Any]] = {
    "es": {
        "ticket_types": {"problem": "problema", "question": "consulta", "request": "solicitud",
                         "maintenance": "mantenimiento preventivo", "rma": "garantía (RMA)"},
        "priorities": {"A1": "A1 (impacto crítico)", "B2": "B2 (impacto moderado)", "C3": "C3 (impacto mínimo)",
                       "P1": "P1 (sistema caído)", "P2": "P2 (operativo pero seriamente afectado)",
                       "P3": "P3 (problema o consulta con solución temporal)", "P4": "P4 (solicitud de información)"},
        "details": {"product": "nombre del producto", "version": "versión y build",
                    "operating_system": "sistema operativo", "error_message": "mensaje o código de error",
                    "logs": "logs o archivos de configuración (adjuntos)",
                    "sample_code": "código de ejemplo que permita reproducir el problema, si aplica"},
        "weekdays": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        "months": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                   "octubre", "noviembre", "diciembre"),
        "date": "{weekday} {day} de {month} de {year}",
        "time": "{date}, {hour:02d}:{minute:02d} (hora de {zone})",
        "statuses": {"open": "abierto", "waiting": "en espera del cliente", "closed": "cerrado"},
        "close_reasons": {"solved": "resuelto", "inactive": "sin respuesta del cliente", "no-contract": "sin contrato",
                          "unsupported": "no cubierto", "duplicate": "duplicado"},
        # How the closure notice ends "queda cerrado…": each reason reads as a different clause.
        "closed_because": {"solved": " como resuelto", "inactive": " por falta de respuesta",
                           "duplicate": " por estar duplicado con {duplicate_of}",
                           "no-contract": ": no hay un contrato de soporte vigente",
                           "unsupported": ": el producto no está cubierto por el soporte"},
        "clocks": {"response": "primera respuesta", "resolution": "resolución", "replacement": "reposición del equipo"},
        "replacement_span": {"business": "{hours} horas hábiles", "always": "{hours} horas, todos los días"},
        "events": {"attachments_not_relayed": "adjuntos no reenviados", "escalated": "escalado",
                   "reminder": "recordatorio enviado: esperando al cliente",
                   "clock_paused": "reloj en pausa: esperando al cliente",
                   "clock_resumed": "reloj reanudado: el cliente respondió",
                   "closed": "cerrado", "reopened": "reabierto", "first_response": "primera respuesta",
                   "escalation_requested": "escalamiento pedido", "survey": "valoración", "thanks": "agradecimiento",
                   "beyond_maintenance_allowance": "mantenimiento más allá de los incluidos en el año de soporte",
                   "out_of_scope": "¿fuera del alcance del soporte?"},
        # The #command keywords and their arguments ({choices}, {known}) are syntax and stay as typed.
        "command_errors": {
            "unknown_command": "comando desconocido (conocidos: {known})",
            "needs_priority": "falta una prioridad: {choices}",
            "priority_not_in_plan": "{level} no pertenece a la escala de prioridades de este plan ({choices})",
            "needs_type": "falta un tipo válido: {choices}",
            "type_not_in_plan": "el plan de este caso no admite ese tipo; admitidos: {choices}",
            "no_such_engineer": "no hay ningún ingeniero {name} (use el nombre o la dirección de un ingeniero configurado)",
            "needs_close_reason": "el motivo debe ser uno de: {choices}",
            "needs_duplicate_number": "#close duplicate necesita el número del otro caso",
            "text_after_reason": "sobra texto después del motivo",
            "needs_hours": "faltan las horas, p. ej. 1.5h o 90m",
            "needs_positive_time": "el tiempo debe ser mayor que cero",
            "takes_no_argument": "no lleva argumentos",
            "hours_exceed_balance": "{hours} h superan el saldo de horas prepagas de la cuenta ({remaining} h, vencen el"
                                    " {expires_on}); no se registró nada. Escriba #time {hours}h overdraft para registrarlas"
                                    " igualmente como sobregiro",
        },
    },
    "en": {
        "ticket_types": {"problem": "problem", "question": "question", "request": "request",
                         "maintenance": "preventive maintenance", "rma": "warranty claim (RMA)"},
        "priorities": {"A1": "A1 (critical impact)", "B2": "B2 (moderate impact)", "C3": "C3 (minimal impact)",
                       "P1": "P1 (system down)", "P2": "P2 (operational but seriously affected)",
                       "P3": "P3 (problem or question with a workaround)", "P4": "P4 (information request)"},
        "details": {"product": "product name", "version": "version and build", "operating_system": "operating system",
                    "error_message": "error message or code", "logs": "logs or configuration files (attached)",
                    "sample_code": "sample code that reproduces the problem, if applicable"},
        "weekdays": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "months": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December"),
        "date": "{weekday} {day} {month} {year}",
        "time": "{date}, {hour:02d}:{minute:02d} ({zone} time)",
        "statuses": {"open": "open", "waiting": "waiting", "closed": "closed"},
        "close_reasons": {"solved": "solved", "inactive": "inactive", "no-contract": "no contract",
                          "unsupported": "unsupported", "duplicate": "duplicate"},
        "closed_because": {"solved": " as solved", "inactive": " because we did not hear back from you",
                           "duplicate": " as a duplicate of {duplicate_of}",
                           "no-contract": ": there is no valid support contract",
                           "unsupported": ": the product is not covered by support"},
        "clocks": {"response": "first-response", "resolution": "resolution", "replacement": "replacement"},
        "replacement_span": {"business": "{hours} business hours", "always": "{hours} hours, every day"},
        "events": {"attachments_not_relayed": "attachments not relayed", "escalated": "escalated",
                   "reminder": "reminder sent: waiting on the customer",
                   "clock_paused": "clock paused: waiting on the customer",
                   "clock_resumed": "clock resumed: the customer replied",
                   "closed": "closed", "reopened": "reopened", "first_response": "first response",
                   "escalation_requested": "escalation requested", "survey": "rating", "thanks": "thanks",
                   "beyond_maintenance_allowance": "maintenance beyond those included in the support year",
                   "out_of_scope": "out of support's scope?"},
        "command_errors": {
            "unknown_command": "unknown command (known: {known})",
            "needs_priority": "needs a priority: {choices}",
            "priority_not_in_plan": "{level} is not in this plan's scheme ({choices})",
            "needs_type": "needs a type: {choices}",
            "type_not_in_plan": "this case's plan does not allow that type; allowed: {choices}",
            "no_such_engineer": "no engineer {name} (use a configured engineer's name or address)",
            "needs_close_reason": "reason must be one of {choices}",
            "needs_duplicate_number": "#close duplicate needs the other case's number",
            "text_after_reason": "unexpected text after the reason",
            "needs_hours": "needs hours such as 1.5h or 90m",
            "needs_positive_time": "needs a positive time",
            "takes_no_argument": "takes no argument",
            "hours_exceed_balance": "{hours} h exceed the account's prepaid-hours balance ({remaining} h, expiring"
                                    " {expires_on}); nothing was logged. Write #time {hours}h overdraft to log them"
                                    " anyway as an overdraft",
        },
    },
}


def labels(language: str) -> dict[str, Any]:
    return LABELS.get(language, LABELS["en"])


def label(language: str, group: str, value: str | None) -> str:
    """The catalogue's word for a stored value (status, close reason, type, ...); an unknown value shows as stored."""
    return labels(language)[group].get(value or "", value or "")


def command_error_text(error: CommandError, language: str) -> str:
    """'#priority P7: falta una prioridad: P1, P2, P3, P4' - the engineer's own line, then why, in their language."""
    message = labels(language)["command_errors"][error.key].format(**dict(error.params))
    return f"{error.line}: {message}"


def closed_because(reason: str | None, duplicate_of: str | None, language: str) -> str:
    return labels(language)["closed_because"].get(reason or "", "").format(duplicate_of=duplicate_of or "")


def case_labels(language: str, status: str | None, close_reason: str | None, priority: str | None,
                ticket_type: str | None) -> dict[str, str]:
    """The words for a case's stored values, for templates to show instead of the values themselves."""
    return {"status_label": label(language, "statuses", status),
            "close_reason_label": label(language, "close_reasons", close_reason),
            "priority_label": label(language, "priorities", priority),
            "ticket_type_label": label(language, "ticket_types", ticket_type)}


def long_local_date(day: date, language: str) -> str:
    words = labels(language)
    return words["date"].format(weekday=words["weekdays"][day.weekday()], day=day.day,
                                month=words["months"][day.month - 1], year=day.year)


def long_local_time(moment: datetime, zone: ZoneInfo, language: str) -> str:
    local = moment.astimezone(zone)
    place = zone.key.split("/")[-1].replace("_", " ")
    return labels(language)["time"].format(date=long_local_date(local.date(), language), hour=local.hour,
                                           minute=local.minute, zone=place)
