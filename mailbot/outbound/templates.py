"""Jinja2 rendering of outgoing mail: templates/<language>/<kind>.{subject,txt,html}.j2."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailbot.resources import templates_dir

if TYPE_CHECKING:
    from jinja2 import Environment, Template


class TemplateMissing(Exception):
    """No template for this kind in the wanted language nor in the fallback language."""


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True, slots=True)
class _TemplateSet:
    """The compiled templates of one kind in one language (the HTML one is optional)."""

    subject: Template
    text: Template
    html: Template | None


class TemplateRenderer:
    """Renders one kind of mail in a language; an operator's folder overrides shipped templates file by file.

    One renderer lives as long as the service: each template is compiled once and its lookup (the language
    fallback, a missing HTML part) is remembered, so a reply costs no file-system access. With auto_reload
    off, an edited template takes effect at the next start.
    """

    def __init__(self, override_dir: Path | None = None, fallback_language: str = "en", *,
                 auto_reload: bool = False) -> None:
        self._search_path = [str(path) for path in (override_dir, templates_dir()) if path is not None]
        self._fallback_language = fallback_language
        self._auto_reload = auto_reload
        self._sets: dict[tuple[str, str], _TemplateSet] = {}

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
            auto_reload=self._auto_reload,
            cache_size=-1,  # every template stays compiled: the set is small and fixed
        )

    def render(self, kind: str, language: str, context: Mapping[str, Any]) -> RenderedMail:
        templates = self._templates(kind, language)
        subject = templates.subject.render(**context)
        html = templates.html.render(**context) if templates.html is not None else None
        return RenderedMail(subject=" ".join(subject.split()), text=templates.text.render(**context), html=html)

    def _templates(self, kind: str, language: str) -> _TemplateSet:
        found = self._sets.get((kind, language))
        if found is None:
            found = self._load(kind, self._language_with(kind, language))
            if not self._auto_reload:  # with reloading on, Jinja's own cache checks each file's time
                self._sets[(kind, language)] = found
        return found

    def _load(self, kind: str, language: str) -> _TemplateSet:
        get = self._environment.get_template
        return _TemplateSet(subject=get(f"{language}/{kind}.subject.j2"), text=get(f"{language}/{kind}.txt.j2"),
                            html=self._optional(f"{language}/{kind}.html.j2"))

    def _language_with(self, kind: str, language: str) -> str:
        from jinja2 import TemplateNotFound  # loaded already, with the environment

        for candidate in (language, self._fallback_language):
            try:
                self._environment.get_template(f"{candidate}/{kind}.txt.j2")
                return candidate
            except TemplateNotFound:
                continue
        raise TemplateMissing(f"no template {kind!r} for language {language!r} or {self._fallback_language!r}")

    def _optional(self, name: str) -> Template | None:
        from jinja2 import TemplateNotFound  # loaded already, with the environment

        try:
            return self._environment.get_template(name)
        except TemplateNotFound:
            return None
