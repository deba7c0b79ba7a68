"""The deployment kit holds together: compose file, systemd unit, Dockerfile health check, pinned versions, README."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mailbot.config import ImapSource, SmtpDelivery, load_settings
from tests.support import skip_or_fail
from tests.support.dovecot import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
README = (ROOT / "README.md").read_text()
CI_RUN = (ROOT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_migrates_before_the_bot_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["mailbot"]["command"] == ["run"]
    assert services["mailbot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("migrate", "mailbot"):
        assert "./mailbot.compose.toml:/etc/mailbot/mailbot.toml:ro" in services[name]["volumes"]
        assert services[name]["environment"]["MAILBOT_CONFIG"] == "/etc/mailbot/mailbot.toml"


def test_compose_config_is_valid_and_its_secrets_are_mounted(compose: dict[str, Any]) -> None:
    settings = load_settings(DEPLOY / "mailbot.compose.toml")
    assert isinstance(settings.source, ImapSource) and isinstance(settings.delivery, SmtpDelivery)
    files = [settings.source.password_file, settings.delivery.password_file, settings.database.password_file]
    mounted = set(compose["services"]["mailbot"]["secrets"])
    assert {Path(f"/run/secrets/{name}") for name in mounted} == set(files)
    assert mounted <= set(compose["secrets"]) and "db_password" in compose["services"]["postgres"]["secrets"]
    assert settings.database.url.startswith("postgresql+psycopg://mailbot@postgres:5432/")


def unit_settings() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "mailbot.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_systemd_unit_restarts_on_failure_and_is_sandboxed() -> None:
    unit = unit_settings()
    assert unit["Restart"] == ["on-failure"] and unit["RestartSec"]
    assert unit["ExecStartPre"] == ["/opt/mailbot/bin/mailbot db upgrade"]
    for key, value in {"DynamicUser": "yes", "StateDirectory": "mailbot", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "NoNewPrivileges": "yes"}.items():
        assert unit[key] == [value], key
    assert "@system-service" in unit["SystemCallFilter"]
    assert unit["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert any(value.startswith("imap_password:") for value in unit["LoadCredential"])


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        skip_or_fail("systemd-analyze not installed: apt-get install systemd")
    assert analyze is not None
    # verify insists that the commands exist: point them at this checkout's mailbot.
    mailbot = Path(sys.executable).with_name("mailbot")
    unit = tmp_path / "mailbot.service"
    unit.write_text((DEPLOY / "mailbot.service").read_text().replace("/opt/mailbot/bin/mailbot", str(mailbot)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr


class HealthAnswer(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), HealthAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def healthcheck_command(port: int) -> list[str]:
    """The Dockerfile's HEALTHCHECK CMD (exec form), aimed at `port` instead of the health server's 9464."""
    match = re.search(r"^\s+CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None, "HEALTHCHECK ... CMD [...] not found"
    command = json.loads(match.group(1))
    assert command[0] == "python" and "http://127.0.0.1:9464/healthz" in command[-1]
    return [sys.executable, *[part.replace(":9464/", f":{port}/") for part in command[1:]]]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_docker_healthcheck_follows_healthz(health_server: http.server.HTTPServer, status: int, healthy: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HealthAnswer, "status", status)
    result = subprocess.run(healthcheck_command(health_server.server_address[1]), capture_output=True, timeout=30)
    assert (result.returncode == 0) == healthy


def test_docker_healthcheck_fails_when_nothing_listens() -> None:
    assert subprocess.run(healthcheck_command(free_port()), capture_output=True, timeout=30).returncode != 0


def test_installs_use_the_pinned_versions() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-c constraints.txt '.[postgres]'" in dockerfile and "USER 10001:10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile
    [readme_command] = [line for line in README.splitlines() if line.startswith(".venv/bin/pip install") and "pytest" in line]
    install, _, test = readme_command.partition(" && ")
    ci_lines = [line.strip() for line in CI_RUN.splitlines()]
    assert install in ci_lines and test in ci_lines, "the README's test command is not the one .ci/run runs"


def pinned() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pairs}


def wanted(requirement: Requirement, extras: frozenset[str]) -> bool:
    return not requirement.marker or any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def direct_dependencies(name: str, extras: frozenset[str]) -> set[str]:
    """What `name[extras]` asks for itself, with what its requirements' extras add."""
    found: set[str] = set()
    for requirement in (Requirement(text) for text in metadata.requires(name) or ()):
        if wanted(requirement, extras):
            found |= {canonicalize_name(requirement.name), *extra_dependencies(requirement)}
    return found


def extra_dependencies(requirement: Requirement) -> set[str]:
    """psycopg[binary] -> psycopg-binary."""
    inner = [Requirement(text) for text in metadata.requires(requirement.name) or ()] if requirement.extras else []
    return {canonicalize_name(item.name) for item in inner
            if item.marker is not None and "extra" in str(item.marker) and wanted(item, frozenset(requirement.extras))}


def test_constraints_pin_every_dependency_of_the_tested_extras() -> None:
    # Only what pyproject.toml names: transitive ones come from `pip freeze` and may change with the newest versions.
    needed = direct_dependencies("mailbot", frozenset({"test", "postgres"}))
    assert {"psycopg", "psycopg-binary", "pytest", "aiosmtpd", "sqlalchemy"} <= needed
    assert sorted(needed - set(pinned())) == [], "constraints.txt misses these: regenerate it (see its header)"
