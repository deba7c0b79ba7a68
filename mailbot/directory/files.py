"""Read a directory file (TOML, YAML or CSV) into validated plain records; errors name the file and the place."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from datetime import date
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from mailbot.config_base import LANGUAGES
from mailbot.directory.locations import (DataPath, LineFinder, account_lines, at_line, csv_lines, toml_lines,
                                         toml_syntax_problem, yaml_lines, yaml_syntax_problem)
from mailbot.parsing.addresses import normalise_email


class DirectoryFileError(Exception):
    """Every problem found; `readable` holds the accounts that did validate, so their fit with the plans can be
    checked in the same run (an operator fixes the file once, not once per kind of mistake)."""

    def __init__(self, problems: list[str], readable: "DirectoryFile | None" = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.readable = readable


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ContractRecord(Record):
    reference: str = Field(min_length=1, max_length=128)
    starts_on: date
    ends_on: date | None = None
    prepaid_remote_hours: float | None = Field(default=None, ge=0)  # this contract's card; None: the plan's hours

    @model_validator(mode="after")
    def _ordered(self) -> "ContractRecord":
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError(f"contract {self.reference}: ends_on {self.ends_on} is before starts_on {self.starts_on}")
        return self


class ContactRecord(Record):
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=256)
    language: str | None = None  # templates/<language>/, else English
    timezone: str | None = None
    title: str | None = Field(default=None, max_length=256)  # job title ("cargo", seed 001), shown to engineers
    phone: str | None = Field(default=None, max_length=64)  # with extension: "+57 1 555 0100 ext. 204"

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not PHONE.fullmatch(value):
            raise ValueError(f"{value!r} is not a phone number such as \"+57 1 555 0100 ext. 204\"")
        return " ".join(value.split())

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        normalised = normalise_email(value)
        if not normalised or " " in normalised or "." not in normalised.rpartition("@")[2]:
            raise ValueError(f"{value!r} is not an email address")
        if not normalised.isascii():
            raise ValueError(f"{value!r}: internationalised addresses (SMTPUTF8) are not supported")
        return normalised

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return check_zone(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return check_language(value)


class AccountRecord(Record):
    key: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=256)
    plan: str = Field(min_length=1, max_length=64)
    language: str | None = None  # templates/<language>/, else English
    timezone: str | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    tam: str | None = None  # Technical Account Manager's address (kept informed on plans with account_managers)
    cam: str | None = None  # Commercial Account Manager's address
    # Hardware warranty (seed 001): the plan's option name, else the plan's default; start defaults to the first
    # contract's start, end to start + the plan's term (the offer or support certificate may say otherwise).
    warranty: str | None = Field(default=None, max_length=32)
    warranty_starts_on: date | None = None
    warranty_ends_on: date | None = None
    contracts: tuple[ContractRecord, ...] = ()
    contacts: tuple[ContactRecord, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return check_zone(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return check_language(value)

    @model_validator(mode="after")
    def _unique_contract_references(self) -> "AccountRecord":
        references = [contract.reference for contract in self.contracts]
        repeated = sorted({reference for reference in references if references.count(reference) > 1})
        if repeated:
            raise ValueError(f"contract reference(s) listed twice: {', '.join(repeated)}")
        return self

    @model_validator(mode="after")
    def _warranty_ordered(self) -> "AccountRecord":
        start, end = self.warranty_starts_on, self.warranty_ends_on
        if start is not None and end is not None and end < start:
            raise ValueError(f"warranty_ends_on {end} is before warranty_starts_on {start}")
        return self

    @field_validator("tam", "cam")
    @classmethod
    def _manager_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        normalised = normalise_email(value)
        if not normalised or not normalised.isascii():
            raise ValueError(f"{value!r} is not an email address")
        return normalised


class DirectoryFile(Record):
    accounts: tuple[AccountRecord, ...]
    # Each account's line in the file (None where the format does not tell), for messages about it.
    _lines: Sequence[int | None] = PrivateAttr(default=())

    def place(self, source: str, index: int) -> str:
        """`source:line` of the index-th account, or just `source` when its line is not known."""
        return at_line(source, self._lines[index] if index < len(self._lines) else None)

    def with_lines(self, lines: Sequence[int | None]) -> "DirectoryFile":
        self._lines = tuple(lines)
        return self


def check_language(value: str | None) -> str | None:
    if value and value not in LANGUAGES:
        raise ValueError(f"{value!r} is not a supported language (valid: {', '.join(LANGUAGES)})")
    return value or None


def check_zone(value: str | None) -> str | None:
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
    return value or None


CSV_ACCOUNT_COLUMNS = ("account_key", "account_name", "plan", "language", "timezone", "country", "tam", "cam",
                       "warranty", "warranty_starts_on", "warranty_ends_on")
CSV_CONTRACT_COLUMNS = ("contract_reference", "contract_starts_on", "contract_ends_on", "contract_prepaid_remote_hours")
CSV_CONTACT_COLUMNS = ("contact_email", "contact_name", "contact_language", "contact_timezone", "contact_title", "contact_phone")
# Digits with the usual separators, then optionally an extension: "ext. 204", "ext 204", "extensión 204", "x204".
PHONE = re.compile(r"[+(]?\d[\d ().\-/]{3,40}(?:\s*(?:ext\.?|extensi[oó]n|x)\s*\d{1,6})?", re.IGNORECASE)


def read_directory_file(path: Path) -> DirectoryFile:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise DirectoryFileError([f"{path}: cannot read: {error.strerror or error}"]) from None
    data, find_line = _load(path, text)
    try:
        return DirectoryFile.model_validate(data).with_lines(account_lines(find_line, len(data["accounts"])))
    except ValidationError as error:
        problems = [_describe(path, data, item, find_line) for item in error.errors()]
        raise DirectoryFileError(problems, _readable_part(data, find_line)) from None


def _readable_part(data: Any, find_line: LineFinder) -> DirectoryFile | None:
    """The accounts that validate on their own, with their lines."""
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        return None
    valid: list[tuple[AccountRecord, int | None]] = []
    for index, account in enumerate(accounts):
        record = _without_wrong_values(account)
        if record is not None:
            valid.append((record, find_line(("accounts", index))))
    return DirectoryFile(accounts=tuple(record for record, _line in valid)).with_lines([line for _record, line in valid])


def _without_wrong_values(account: Any) -> AccountRecord | None:
    """The account with its wrong fields (and wrong contacts or contracts) left out, so that what is right in it,
    its plan above all, is still checked; None when what is left still does not validate (a key is missing)."""
    for _attempt in range(3):
        try:
            return AccountRecord.model_validate(account)
        except ValidationError as error:
            if not isinstance(account, dict):
                return None
            account = _dropping(account, [item["loc"] for item in error.errors()])
    return None


def _dropping(account: dict[str, Any], places: list[tuple[Any, ...]]) -> dict[str, Any]:
    wrong_items = {(place[0], place[1]) for place in places if len(place) > 1 and isinstance(place[1], int)}
    wrong_fields = {place[0] for place in places if place and (place[0], place[1] if len(place) > 1 else None) not in wrong_items}
    kept = {key: value for key, value in account.items() if key not in wrong_fields}
    for key in ("contacts", "contracts"):
        if isinstance(kept.get(key), list):
            kept[key] = [item for index, item in enumerate(kept[key]) if (key, index) not in wrong_items]
    return kept


def _load(path: Path, text: str) -> tuple[Any, LineFinder]:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(text), toml_lines(text)
        except tomllib.TOMLDecodeError as error:
            raise DirectoryFileError([toml_syntax_problem(path, text, error)]) from None
    if suffix in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text) or {}, yaml_lines(text)
        except yaml.YAMLError as error:
            raise DirectoryFileError([yaml_syntax_problem(path, text, error)]) from None
    if suffix == ".csv":
        data, rows = _from_csv(text)
        return data, csv_lines(rows)
    raise DirectoryFileError([f"{path}: unknown format {suffix!r}; use .toml, .yaml/.yml or .csv"])


def _from_csv(text: str) -> tuple[dict[str, Any], dict[DataPath, int]]:
    """One row per contact (and/or contract); rows with the same account_key form one account.

    Also the line of each account's first row and of each contact's and contract's row, for messages."""
    accounts: dict[str, dict[str, Any]] = {}
    rows: dict[DataPath, int] = {}
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        row = {key.strip(): (value or "").strip() for key, value in row.items() if key}
        key = row.get("account_key", "")
        if key not in accounts:
            rows[("accounts", len(accounts))] = reader.line_num
        account = accounts.setdefault(
            key, {"key": key, "contracts": [], "contacts": [], **_account_fields(row)}
        )
        index = list(accounts).index(key)
        if row.get("contract_reference"):
            contract = {
                "reference": row["contract_reference"],
                "starts_on": row.get("contract_starts_on") or None,
                "ends_on": row.get("contract_ends_on") or None,
                "prepaid_remote_hours": row.get("contract_prepaid_remote_hours") or None,
            }
            if contract not in account["contracts"]:
                rows[("accounts", index, "contracts", len(account["contracts"]))] = reader.line_num
                account["contracts"].append(contract)
        if row.get("contact_email"):
            rows[("accounts", index, "contacts", len(account["contacts"]))] = reader.line_num
            account["contacts"].append(
                {
                    "email": row["contact_email"],
                    "name": row.get("contact_name", ""),
                    "language": row.get("contact_language") or None,
                    "timezone": row.get("contact_timezone") or None,
                    "title": row.get("contact_title") or None,
                    "phone": row.get("contact_phone") or None,
                }
            )
    return {"accounts": list(accounts.values())}, rows


def _account_fields(row: dict[str, str]) -> dict[str, Any]:
    return {
        "name": row.get("account_name", ""),
        "plan": row.get("plan", ""),
        "language": row.get("language") or None,
        "timezone": row.get("timezone") or None,
        "country": row.get("country") or None,
        "tam": row.get("tam") or None,
        "cam": row.get("cam") or None,
        "warranty": row.get("warranty") or None,
        "warranty_starts_on": row.get("warranty_starts_on") or None,
        "warranty_ends_on": row.get("warranty_ends_on") or None,
    }


def _describe(path: Path, data: Any, item: Any, find_line: LineFinder) -> str:
    location = list(item.get("loc", ()))
    where = _readable_location(data, location)
    message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
    if item.get("type") == "extra_forbidden":
        message = "unknown key (misspelt?)"
    return f"{at_line(str(path), find_line(tuple(location)))}: {where}: {message}"


def _readable_location(data: Any, location: list[Any]) -> str:
    """accounts[2].contacts[0].email -> account 'acme': contacts[0].email."""
    if len(location) >= 2 and location[0] == "accounts" and isinstance(location[1], int):
        try:
            key = data["accounts"][location[1]].get("key", f"#{location[1] + 1}")
        except (KeyError, IndexError, TypeError, AttributeError):
            key = f"#{location[1] + 1}"
        rest = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location[2:])
        return f"account {key!r}{': ' + rest.lstrip('.') if rest else ''}"
    return ".".join(str(part) for part in location) or "(top level)"
