"""Message templates: a header block, a blank line, then the body, each part Jinja2.

    Subject: New contact message from {{ record.data.name }}
    Reply-To: {{ record.data.email }}

    {{ record.data.name }} wrote: ...

Templates are looked up in the configured folder first, then among the built-ins next to this
module, and compiled once at start (a missing or malformed template stops the service, naming
it). Headers are split off before rendering and rendered one by one with line breaks collapsed,
so a value such as a sender's name can never add a header. Undefined variables are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

BUILTIN_DIR = Path(__file__).parent / "templates"
HEADERS = {"subject": "Subject", "reply-to": "Reply-To"}
_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)


class TemplateError(ValueError):
    """A template is missing, malformed, or failed to render; the message names it."""


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    reply_to: str


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    headers: dict[str, jinja2.Template]
    body: jinja2.Template

    def render(self, context: dict[str, Any]) -> Rendered:
        try:
            values = {k: " ".join(t.render(context).split()) for k, t in self.headers.items()}
            body = self.body.render(context)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {self.name!r}: {exc}") from exc
        return Rendered(values.get("Subject", ""), body, values.get("Reply-To", ""))


def load_template(name: str, folder: str = "") -> MessageTemplate:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise TemplateError(f"template name {name!r} must be letters, digits, '_' or '-'")
    candidates = ([Path(folder) / f"{name}.txt"] if folder else []) + [BUILTIN_DIR / f"{name}.txt"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise TemplateError(f"template {name!r} not found in {', '.join(map(str, candidates))}")
    head, separator, body = path.read_text().partition("\n\n")
    if not separator:
        raise TemplateError(f"template {path}: needs headers, a blank line, then the body")
    headers: dict[str, jinja2.Template] = {}
    try:
        for line in head.splitlines():
            key, colon, value = line.partition(":")
            if not colon or key.strip().lower() not in HEADERS:
                raise TemplateError(f"template {path}: unknown header line {line!r}")
            headers[HEADERS[key.strip().lower()]] = _ENV.from_string(value.strip())
        return MessageTemplate(name, headers, _ENV.from_string(body))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {path}: {exc}") from exc
