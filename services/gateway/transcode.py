"""HTTP ⇄ protobuf conversion for one route: request messages from path variables, query
parameters and the JSON body; JSON responses in proto3 JSON (lowerCamelCase, enums by name).

Every problem raises `BadInput` naming the field, which the app turns into a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.gateway.routes import Route

_INTS = {
    FieldDescriptor.CPPTYPE_INT32,
    FieldDescriptor.CPPTYPE_INT64,
    FieldDescriptor.CPPTYPE_UINT32,
    FieldDescriptor.CPPTYPE_UINT64,
}
_FLOATS = {FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE}
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


class BadInput(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def build_request(
    route: Route,
    message_class: type[Message],
    path_values: dict[str, str],
    query: list[tuple[str, str]],
    body: bytes,
) -> Message:
    message = message_class()
    document = _apply_body(route, message, body)
    for path, value in path_values.items():
        top = path.split(".")[0]
        if document and (top in document or _camel(top) in document):
            raise BadInput(top, "is set by the URL path; leave it out of the body")
        _set_path(message, path, [value], path)
    bound = {route.body} | set(path_values) if route.body else set(path_values)
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        grouped.setdefault(key, []).append(value)
    for key, values in grouped.items():
        if route.body == "*":
            raise BadInput(key, "query parameters are not accepted here: send it in the body")
        if key.split(".")[0] in bound or _snake(key).split(".")[0] in bound:
            raise BadInput(key, "is set by the path or the body, not the query")
        _set_path(message, key, values, key)
    return message


def _apply_body(route: Route, message: Message, body: bytes) -> dict[str, Any] | None:
    """Parses the body into `message`; returns the document when it is the whole message."""
    if not route.body:
        if body.strip():
            raise BadInput("", f"{route.http_method} {route.template} takes no request body")
        return None
    try:
        document = json.loads(body) if body.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadInput("", f"request body is not valid JSON: {exc}") from exc
    target = message
    if route.body != "*":
        spec = message.DESCRIPTOR.fields_by_name[route.body]
        if spec.message_type is None:
            raise BadInput(route.body, "scalar body fields are not supported")
        target = getattr(message, route.body)
        if spec.message_type.full_name == "google.protobuf.Struct" and not isinstance(
            document, dict
        ):
            raise BadInput("", "request body must be a JSON object")
    elif not isinstance(document, dict):
        raise BadInput("", "request body must be a JSON object")
    try:
        json_format.ParseDict(document, target)
    except (json_format.ParseError, TypeError, AttributeError, ValueError) as exc:
        # ParseDict raises more than ParseError for JSON of the wrong shape (e.g. 5 for a
        # message field): all of it is the client's input.
        raise BadInput(route.body if route.body != "*" else "", str(exc)) from exc
    return document if route.body == "*" else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    return descriptor.fields_by_name.get(name) or descriptor.fields_by_camelcase_name.get(name)


def _set_path(message: Message, path: str, values: list[str], shown: str) -> None:
    parts = path.split(".")
    target = message
    for part in parts[:-1]:
        spec = _field(target.DESCRIPTOR, part)
        if spec is None or spec.message_type is None or spec.is_repeated:
            raise BadInput(shown, "unknown parameter")
        target = getattr(target, spec.name)
    spec = _field(target.DESCRIPTOR, parts[-1])
    if spec is None:
        raise BadInput(shown, "unknown parameter")
    repeated = spec.is_repeated
    if not repeated and len(values) > 1:
        raise BadInput(shown, "given more than once")
    if spec.message_type is not None:
        if repeated:
            raise BadInput(shown, "repeated message fields cannot be set from the query")
        try:
            json_format.Parse(json.dumps(values[0]), getattr(target, spec.name))
        except json_format.ParseError as exc:
            raise BadInput(shown, str(exc)) from exc
        return
    converted = [_scalar(spec, value, shown) for value in values]
    try:
        if repeated:
            getattr(target, spec.name).extend(converted)
        else:
            setattr(target, spec.name, converted[0])
    except (ValueError, TypeError) as exc:
        raise BadInput(shown, f"{_expected(spec)} in range, got {values[0]!r}") from exc


def _scalar(spec: FieldDescriptor, text: str, shown: str) -> Any:
    kind = spec.cpp_type
    try:
        if kind in _INTS:
            return int(text)
        if kind in _FLOATS:
            return float(text)
        if kind == FieldDescriptor.CPPTYPE_BOOL:
            return _BOOLS[text.lower()]
        if kind == FieldDescriptor.CPPTYPE_ENUM:
            value = spec.enum_type.values_by_name.get(text)
            return value.number if value else spec.enum_type.values_by_number[int(text)].number
        if spec.type == FieldDescriptor.TYPE_BYTES:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, KeyError, binascii.Error) as exc:
        raise BadInput(shown, f"expected {_expected(spec)}, got {text!r}") from exc
    return text


def _expected(spec: FieldDescriptor) -> str:
    kind = spec.cpp_type
    if kind in _INTS:
        return "an integer"
    if kind in _FLOATS:
        return "a number"
    if kind == FieldDescriptor.CPPTYPE_BOOL:
        return "true or false"
    if kind == FieldDescriptor.CPPTYPE_ENUM:
        return "one of " + ", ".join(v.name for v in spec.enum_type.values)
    return "base64" if spec.type == FieldDescriptor.TYPE_BYTES else "a string"


def render_response(route: Route, message: Message) -> bytes:
    document: Any = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    if route.response_body:  # one field of the response, whatever its type
        document = document[message.DESCRIPTOR.fields_by_name[route.response_body].json_name]
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
