"""The route table, built once at start from the `google.api.http` annotations of the services'
descriptors; per request it only matches.

Path templates follow google/api/http.proto:

    Template = "/" Segments [ Verb ] ;   Segment = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;   Verb = ":" LITERAL ;
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

_METHODS = ("get", "put", "post", "delete", "patch")
_FIELD_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Route:
    http_method: str  # upper case
    template: str
    pattern: re.Pattern[str]
    variables: tuple[str, ...]  # field paths, in group order
    multi_segment: frozenset[str]  # variables that may hold "/" (matched by **)
    body: str  # "", "*" or a field name
    response_body: str
    method: MethodDescriptor
    literal_count: int = field(compare=False)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {
            name: value if name in self.multi_segment else unquote(value)
            for name, value in zip(self.variables, found.groups(), strict=True)
        }


def compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...], frozenset[str], int]:
    """Regex, variable field paths, the multi-segment ones, and the count of literal segments."""
    if not template.startswith("/"):
        raise TemplateError(f"path template {template!r} must start with '/'")
    body, verb = template[1:], ""
    last = body.rsplit("/", 1)[-1]
    if ":" in last and "}" not in last[last.index(":") :]:
        body, verb = body[: len(body) - len(last) + last.index(":")], last[last.index(":") + 1 :]
    regex, variables, multi, literals = _segments(body, top=True)
    if verb:
        regex += ":" + re.escape(verb)
    return re.compile("/" + regex), tuple(variables), frozenset(multi), literals


def _segments(text: str, top: bool) -> tuple[str, list[str], list[str], int]:
    parts, variables, multi, literals = [], [], [], 0
    for segment in _split(text):
        if segment.startswith("{") and segment.endswith("}"):
            if not top:
                raise TemplateError(f"nested variable in {text!r}")
            name, _, inner = segment[1:-1].partition("=")
            if not _FIELD_PATH.fullmatch(name):
                raise TemplateError(f"bad variable {segment!r} in {text!r}")
            sub, _, _, inner_literals = _segments(inner or "*", top=False)
            literals += inner_literals
            parts.append(f"({sub})")
            variables.append(name)
            if "**" in (inner or "*"):
                multi.append(name)
        elif segment == "*":
            parts.append("[^/]+")
        elif segment == "**":
            parts.append(".+")
        elif segment and "{" not in segment and "}" not in segment:
            parts.append(re.escape(segment))
            literals += 1
        else:
            raise TemplateError(f"bad path segment {segment!r}")
    return "/".join(parts), variables, multi, literals


def _split(text: str) -> list[str]:
    """Splits on '/' outside braces."""
    out, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "/" and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _rules(rule: http_pb2.HttpRule) -> Iterable[http_pb2.HttpRule]:
    yield rule
    yield from rule.additional_bindings


def routes_of(service: ServiceDescriptor) -> list[Route]:
    routes = []
    for method in service.methods:
        options = method.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            continue
        for rule in _rules(options.Extensions[annotations_pb2.http]):
            kind = rule.WhichOneof("pattern")
            if kind == "custom":
                verb, template = rule.custom.kind.upper(), rule.custom.path
            elif kind in _METHODS:
                verb, template = kind.upper(), getattr(rule, kind)
            else:
                continue
            pattern, variables, multi, literals = compile_template(template)
            _check_fields(method, template, variables, rule)
            routes.append(
                Route(
                    verb,
                    template,
                    pattern,
                    variables,
                    multi,
                    rule.body,
                    rule.response_body,
                    method,
                    literals,
                )
            )
    return routes


def _check_fields(
    method: MethodDescriptor, template: str, variables: tuple[str, ...], rule: http_pb2.HttpRule
) -> None:
    """Refuses at start what no request could satisfy: a client-streaming method, a variable
    that is not a singular field, a body or response_body that names no field."""
    where = f"{method.full_name} {template}"
    if method.client_streaming:
        raise TemplateError(f"{where}: client-streaming methods cannot be served over HTTP")
    for variable in variables:
        descriptor, spec = method.input_type, None
        for name in variable.split("."):
            spec = descriptor.fields_by_name.get(name) if descriptor else None
            if spec is None or spec.is_repeated:
                raise TemplateError(f"{where}: {variable} is not a singular field of the request")
            descriptor = spec.message_type
    if rule.body not in ("", "*", *method.input_type.fields_by_name):
        raise TemplateError(f"{where}: body {rule.body!r} is not a field of the request")
    if rule.response_body not in ("", *method.output_type.fields_by_name):
        raise TemplateError(f"{where}: response_body {rule.response_body!r} is not a field")


class Router:
    """Finds the route of a request: exact templates by dictionary, the rest by regex, most
    literal segments first."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: (-r.literal_count, -len(r.template)))
        self._static: dict[tuple[str, str], Route] = {}
        self._dynamic: dict[str, list[Route]] = {}
        for route in self.routes:
            if not route.variables and "*" not in route.template:
                self._static[(route.http_method, route.template)] = route
            else:
                self._dynamic.setdefault(route.http_method, []).append(route)

    def match(self, http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a request, and its path variables. HEAD matches the GET routes that
        answer one response (HTTP's HEAD is a GET whose body is left out), not the streams."""
        if http_method == "HEAD":
            found = self.match("GET", path)
            return None if found is None or found[0].method.server_streaming else found
        route = self._static.get((http_method, path))
        if route is not None:
            return route, {}
        for route in self._dynamic.get(http_method, ()):
            values = route.match(path)
            if values is not None:
                return route, values
        return None

    def allowed_methods(self, path: str) -> list[str]:
        """HTTP methods that some route serves at `path` (for 405 and its Allow header)."""
        allowed = set()
        for route in self.routes:
            if route.match(path) is not None:
                allowed.add(route.http_method)
                if route.http_method == "GET" and not route.method.server_streaming:
                    allowed.add("HEAD")
        return sorted(allowed)
