"""`cases search` on many cases: Core bulk inserts of cases with one message each, then typical searches timed.

    .venv/bin/python -m benchmarks.search                     # 100,000 cases on SQLite (a temporary file)
    .venv/bin/python -m benchmarks.search --postgres          # the same on a fresh database on $MAILBOT_TEST_PG
    .venv/bin/python -m benchmarks.search --cases 10000 --db postgresql+psycopg://user@host/db   # an empty database

Target: a typical search (20 cases shown) under 100 ms, median and p95, on both databases.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, insert

from mailbot.cases.search import SearchQuery, search_cases, search_terms
from mailbot.db.engine import build_engine, build_session_factory
from mailbot.db.migrate import upgrade_to_head
from mailbot.db.models import Account, Case, CaseMessage, Plan
from tests.support.postgres import fresh_database

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
ACCOUNTS = 50
BATCH = 5000
RUNS = 15
SEARCHES = (  # (words, account, days after START for --since): mostly two words, as people search
    ("garantia portatil", None, None),
    ("backup failed", None, None),
    ("licencia caducada", None, None),
    ("contraseña correo", "account-07", None),
    ("router reboot", None, 600),
    ("facturas noviembre", None, None),
    ("HX-1037", None, None),
    ("garantia", None, None),  # one common word: about one case in eight
    ("impresora atasca papel", "account-03", 300),
    ("nothingmatchesthis", None, None),
)
# One or two of these per message: each is in roughly one message of eight, its product in one of twenty.
SPANISH = (
    "La garantía del {product_es} {model} vence el mes que viene.", "El {product_es} {model} falla desde {when_es}.",
    "Adjunto el registro con el error {code}.", "Las facturas de {month_es} no han llegado a contabilidad.",
    "Tras la actualización el {product_es} no arranca.", "La licencia del antivirus está caducada en {count} equipos.",
    "No puedo cambiar la contraseña del correo.", "La impresora de la planta {count} se atasca con el papel.",
    "La copia de seguridad de anoche no terminó.", "La batería del {product_es} dura menos de una hora.",
    "El certificado del servidor web caduca el {count} de {month_es}.", "La red de la oficina de {place} va muy lenta.",
    "El {product_es} hace un ruido extraño y se calienta.", "La pantalla del {product_es} {model} parpadea.",
    "Necesitamos dar de alta a {count} usuarios nuevos.", "La VPN se desconecta cada pocos minutos en {place}.",
)
ENGLISH = (
    "Our {product_en} {model} warranty ends next month.", "The {product_en} {model} is failing since {when_en}.",
    "The nightly backup failed with error {code}.", "Invoices for {month_en} are missing.",
    "After the update the {product_en} does not boot.", "The router needs a reboot every {count} hours.",
    "Users cannot log in to the VPN from {place}.", "The license of the firewall expired yesterday.",
    "I cannot reset my email password.", "The printer on floor {count} keeps jamming.",
    "The battery of the {product_en} lasts less than an hour.", "The web server certificate expires on {month_en} {count}.",
    "The office network in {place} is very slow.", "The {product_en} makes a strange noise and overheats.",
    "The screen of the {product_en} {model} flickers.", "Please create accounts for {count} new users.",
)
GREETINGS = (("Hola,", "Buenos días,", "Buenas tardes:"), ("Hi,", "Hello,", "Good morning,"))
CLOSINGS = (("Saludos,\nAna", "Gracias,\nPedro", "Un saludo,\nLucía"), ("Regards,\nJohn", "Thanks,\nMary", "Best,\nTom"))
WORDS = {
    "product_es": ("servidor", "router", "portátil", "switch", "NAS", "cortafuegos", "monitor", "escáner", "proyector",
                   "teléfono IP", "SAI", "punto de acceso", "disco externo", "lector de tarjetas", "tableta",
                   "centralita", "cámara", "altavoz", "docking", "ratón"),
    "product_en": ("server", "router", "laptop", "switch", "NAS", "firewall", "monitor", "scanner", "projector",
                   "IP phone", "UPS", "access point", "external disk", "card reader", "tablet",
                   "PBX", "camera", "speaker", "docking station", "mouse"),
    "model": tuple(f"{series}-{number}" for series in ("HX", "LT", "QZ", "RB", "MK") for number in range(1000, 9999, 37)),
    "when_es": ("ayer", "el lunes", "la actualización", "esta mañana"), "when_en": ("yesterday", "Monday", "the update", "this morning"),
    "month_es": ("octubre", "noviembre", "diciembre", "enero"), "month_en": ("October", "November", "December", "January"),
    "code": tuple(f"0x{number:08X}" for number in range(0x80070000, 0x80070000 + 400, 7)),
    "count": tuple(str(number) for number in range(2, 60)),
    "place": ("Madrid", "Bogotá", "Sevilla", "Medellín", "Valencia", "Lima", "Quito", "Bilbao"),
}


def sentence(generator: random.Random, templates: tuple[str, ...]) -> str:
    return generator.choice(templates).format(**{key: generator.choice(values) for key, values in WORDS.items()})


def message_text(generator: random.Random, spanish: bool) -> str:
    templates, language = (SPANISH, 0) if spanish else (ENGLISH, 1)
    issues = (sentence(generator, templates) for _ in range(generator.randint(1, 2)))
    return "\n".join([generator.choice(GREETINGS[language]), *issues, generator.choice(CLOSINGS[language])])


def fill(engine: Engine, count: int) -> float:
    """`count` cases with one message each, by Core executemany in batches; returns the seconds it took."""
    generator = random.Random(13)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Plan), [{"name": "standard"}])
        connection.execute(insert(Account), [{"id": n + 1, "key": f"account-{n:02d}", "name": f"Account {n}",
                                              "plan_name": "standard", "updated_at": START} for n in range(ACCOUNTS)])
    for first in range(0, count, BATCH):
        cases, messages = [], []
        for n in range(first, min(first + BATCH, count)):
            spanish = n % 3 != 0
            opened = START + timedelta(minutes=10 * n)
            subject = sentence(generator, SPANISH if spanish else ENGLISH)[:80]
            cases.append({"id": n + 1, "number": f"LC-{opened.year}-{n + 1:06d}", "account_id": n % ACCOUNTS + 1,
                          "subject": subject, "status": "open" if n % 4 else "closed", "language": "es" if spanish else "en",
                          "opened_at": opened, "updated_at": opened, "remote_hours": 0.0, "paused_seconds": 0.0})
            messages.append({"id": n + 1, "case_id": n + 1, "direction": "in", "message_id": f"<{n}@example.com>",
                             "sender": "ana@example.com", "recipients": "support@example.com", "subject": subject,
                             "body_text": message_text(generator, spanish), "created_at": opened,
                             "author": "customer", "internal": False})
        with engine.begin() as connection:
            connection.execute(insert(Case), cases)
            connection.execute(insert(CaseMessage), messages)
    return time.perf_counter() - started


def time_searches(engine: Engine) -> None:
    sessions = build_session_factory(engine)
    print(f"{'search':<44} {'shown':>5} {'median ms':>10} {'p95 ms':>8}")
    for words, account, since_days in SEARCHES:
        query = SearchQuery(search_terms(words), account, START + timedelta(days=since_days) if since_days else None)
        timings, shown = [], 0
        for _ in range(RUNS):
            with sessions() as session:
                started = time.perf_counter()
                shown = len(search_cases(session, query))
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        label = words + (f" --account {account}" if account else "") + (" --since" if since_days else "")
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        print(f"{label:<44} {shown:>5} {statistics.median(timings):>10.1f} {p95:>8.1f}")


@contextmanager
def database(arguments: argparse.Namespace) -> Iterator[str]:
    if arguments.db:
        yield arguments.db
    elif arguments.postgres:
        with fresh_database() as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="cases to create (one message each)")
    parser.add_argument("--postgres", action="store_true", help="a fresh database on $MAILBOT_TEST_PG's server")
    parser.add_argument("--db", help="an empty database URL (default: a temporary SQLite file)")
    arguments = parser.parse_args()
    with database(arguments) as url:
        engine = build_engine(url)
        upgrade_to_head(engine)
        seconds = fill(engine, arguments.cases)
        print(f"database           {engine.dialect.name}")
        print(f"filled             {arguments.cases} cases + {arguments.cases} messages in {seconds:.1f} s"
              " (Core bulk inserts; the search index kept by triggers / generated columns)")
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        time_searches(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
