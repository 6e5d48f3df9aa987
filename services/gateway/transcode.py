"""HTTP ⇄ protobuf for one route: the request message from path variables, query parameters
and the JSON body; responses in proto3 JSON (lowerCamelCase, enums by name, every field without
presence printed, proto3 `optional` fields only when set), rendered by `render`.

Fields bound by the path or the body cannot be set again: a query parameter naming a bound field
is a 400, and so is a `body: "*"` giving a path variable's field another value (with a body
field, as in AIP-134 updates, the resource may carry its name: the URL path wins). With
`body: "*"` the query takes nothing. Every problem raises `BadInput` naming the field, which
the app turns into a 400.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from services.gateway.params import BadInput, assign, resolve
from services.gateway.render import to_document
from services.gateway.routes import Route
from services.gateway.violations import locate

_PARSE_ERRORS = (json_format.ParseError, ValueError, TypeError, AttributeError, RecursionError)


def build_request(
    route: Route,
    message_class: type[Message],
    path_values: dict[str, str],
    query: list[tuple[str, str]],
    body: bytes,
) -> Message:
    message = message_class()
    descriptor = message.DESCRIPTOR
    document = _apply_body(route, message, body)
    for path, value in path_values.items():
        fields = resolve(descriptor, path)
        given = _value_at(message, fields) if route.body == "*" and document else None
        assign(message, fields, [value], path)
        if given and given != _value_at(message, fields):
            raise BadInput(path, f"the body says {given!r} but the URL path says {value!r}")
    if not query:
        return message
    if route.body == "*":
        raise BadInput(query[0][0], "query parameters are not accepted here: send it in the body")
    grouped: dict[str, tuple[str, Any, list[str]]] = {}
    for key, value in query:
        fields = resolve(descriptor, key)
        canonical = ".".join(spec.name for spec in fields)
        if canonical in grouped:
            grouped[canonical][2].append(value)
        else:
            grouped[canonical] = (key, fields, [value])
    for canonical, (key, fields, values) in grouped.items():
        if any(_overlaps(canonical, bound) for bound in (route.body, *path_values) if bound):
            raise BadInput(key, "is set by the path or the body, not the query")
        assign(message, fields, values, key)
    return message


def _overlaps(one: str, other: str) -> bool:
    return one == other or one.startswith(other + ".") or other.startswith(one + ".")


def _apply_body(route: Route, message: Message, body: bytes) -> Any:
    """Parses the body into `message`; returns the JSON document (None without a body)."""
    if not route.body:
        if body.strip():
            raise BadInput("", f"{route.http_method} {route.template} takes no request body")
        return None
    if not body.strip():
        return None
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadInput("", f"request body is not valid JSON: {exc}") from exc
    if route.body == "*":
        if not isinstance(document, dict):
            raise BadInput("", "request body must be a JSON object")
        _parse(document, message)
        return document
    _parse({message.DESCRIPTOR.fields_by_name[route.body].json_name: document}, message)
    return document


def _parse(document: dict[str, Any], message: Message) -> None:
    try:
        json_format.ParseDict(document, message)
    except _PARSE_ERRORS as exc:
        # ParseDict raises more than ParseError for JSON of the wrong shape (e.g. 5 for a
        # message field): all of it is the client's input.
        found = locate(message.DESCRIPTOR, document)
        if found is None:
            raise BadInput("", str(exc)) from exc
        raise BadInput(*found) from exc


def _value_at(message: Message, fields: tuple[FieldDescriptor, ...]) -> Any:
    """The current value of a path variable's field (a scalar: routes check it)."""
    target: Any = message
    for spec in fields:
        target = getattr(target, spec.name)
    return target


def render_response(route: Route, message: Message) -> bytes:
    document = to_document(message)
    if route.response_body:  # one field of the response, whatever its type
        document = document[message.DESCRIPTOR.fields_by_name[route.response_body].json_name]
    return orjson.dumps(document)
