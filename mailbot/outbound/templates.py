"""Jinja2 rendering of outgoing mail: templates/<language>/<kind>.{subject,txt,html}.j2."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailbot.resources import templates_dir

if TYPE_CHECKING:
    from jinja2 import Environment


class TemplateMissing(Exception):
    """No template for this kind in the wanted language nor in the fallback language."""


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


class TemplateRenderer:
    """Renders one kind of mail in a language; an operator's folder overrides shipped templates file by file."""

    def __init__(self, override_dir: Path | None = None, fallback_language: str = "en") -> None:
        self._search_path = [str(path) for path in (override_dir, templates_dir()) if path is not None]
        self._fallback_language = fallback_language

    @cached_property
    def _environment(self) -> Environment:
        # Built at the first mail rendered: every command wires a renderer, few render (Jinja2 takes ~30 ms to load).
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        return Environment(
            loader=FileSystemLoader(self._search_path),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, kind: str, language: str, context: Mapping[str, Any]) -> RenderedMail:
        chosen = self._language_with(kind, language)
        subject = self._render(f"{chosen}/{kind}.subject.j2", context)
        text = self._render(f"{chosen}/{kind}.txt.j2", context)
        html = self._render_optional(f"{chosen}/{kind}.html.j2", context)
        return RenderedMail(subject=" ".join(subject.split()), text=text, html=html)

    def _language_with(self, kind: str, language: str) -> str:
        from jinja2 import TemplateNotFound  # loaded already, with the environment

        for candidate in (language, self._fallback_language):
            try:
                self._environment.get_template(f"{candidate}/{kind}.txt.j2")
                return candidate
            except TemplateNotFound:
                continue
        raise TemplateMissing(f"no template {kind!r} for language {language!r} or {self._fallback_language!r}")

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        return self._environment.get_template(name).render(**context)

    def _render_optional(self, name: str, context: Mapping[str, Any]) -> str | None:
        from jinja2 import TemplateNotFound  # loaded already, with the environment

        try:
            template = self._environment.get_template(name)
        except TemplateNotFound:
            return None
        return template.render(**context)
