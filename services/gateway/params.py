"""Path variables and query parameters into request fields.

`a.b=1` sets a nested field, a repeated key (`tag=x&tag=y`) a repeated field; names are
accepted in lowerCamelCase and snake_case. Values are text: integers, numbers (`NaN`,
`Infinity`), `true`/`false`, enums by name or number, bytes in base64 (standard or URL-safe),
and the well-known types in their canonical JSON text: Timestamp (RFC 3339), Duration
(`1.5s`), FieldMask (`title,createTime`), the wrappers (as their value), Struct, ListValue and
Value (as JSON). Every problem raises `BadInput` naming the parameter as the client wrote it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from google.protobuf import field_mask_pb2, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

MAX_QUERY_PARAMETERS = 256
INT_RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_FLOATS = frozenset({FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE})
_INTEGER = re.compile(r"[-+]?[0-9]{1,20}")
_NUMBER = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?|NaN|-?Infinity")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_FLOAT32_MAX = 3.4028234663852886e38
_WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_JSON_TYPES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.ListValue", "google.protobuf.Value"}
)


class BadInput(ValueError):
    """A request the gateway refuses before any upstream call; `field` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def field_named(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    """The field called `name` in either spelling (`page_size` or `pageSize`)."""
    return descriptor.fields_by_name.get(name) or descriptor.fields_by_camelcase_name.get(name)


def resolve(descriptor: Descriptor, key: str) -> tuple[FieldDescriptor, ...]:
    """The fields along `key` ("a.b"): each but the last a singular message field."""
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for part in key.split("."):
        spec = field_named(current, part) if current is not None else None
        if spec is None:
            raise BadInput(key, "unknown parameter")
        fields.append(spec)
        current = spec.message_type if not spec.is_repeated else None
    return tuple(fields)


def assign(
    message: Message, fields: tuple[FieldDescriptor, ...], values: list[str], key: str
) -> None:
    """Sets the field at the end of `fields` (from `resolve`) from the text `values`."""
    target = message
    for spec in fields[:-1]:
        _claim_oneof(target, spec, key)
        target = getattr(target, spec.name)
    spec = fields[-1]
    _claim_oneof(target, spec, key)
    if not spec.is_repeated and len(values) > 1:
        raise BadInput(key, "given more than once")
    if spec.message_type is not None:
        if spec.message_type.GetOptions().map_entry:
            raise BadInput(key, "map fields cannot be set from the URL: send them in the body")
        fill = _text_setter(spec.message_type, key)
        if spec.is_repeated:
            for value in values:
                fill(getattr(target, spec.name).add(), value)
        else:
            sub = getattr(target, spec.name)
            sub.SetInParent()
            fill(sub, values[0])
        return
    converted = [scalar(spec, value, key) for value in values]
    if spec.is_repeated:
        getattr(target, spec.name).extend(converted)
    else:
        setattr(target, spec.name, converted[0])


def _claim_oneof(target: Message, spec: FieldDescriptor, key: str) -> None:
    oneof = spec.containing_oneof
    if oneof is None:
        return
    chosen = target.WhichOneof(oneof.name)
    if chosen is not None and chosen != spec.name:
        raise BadInput(key, f"only one of {', '.join(f.name for f in oneof.fields)} may be set")


def scalar(spec: FieldDescriptor, text: str, key: str) -> Any:
    """The Python value of a scalar or enum field written as text."""
    kind = spec.cpp_type
    value: Any = text
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        value = int(text) if _INTEGER.fullmatch(text) else None
        value = value if value is not None and low <= value <= high else None
    elif kind in _FLOATS:
        value = _number(text, spec.type == FieldDescriptor.TYPE_FLOAT)
    elif kind == FieldDescriptor.CPPTYPE_BOOL:
        value = _BOOLS.get(text.lower())
    elif kind == FieldDescriptor.CPPTYPE_ENUM:
        found = spec.enum_type.values_by_name.get(text)
        if found is None and _INTEGER.fullmatch(text):
            found = spec.enum_type.values_by_number.get(int(text))
        value = None if found is None else found.number
    elif spec.type == FieldDescriptor.TYPE_BYTES:
        value = _base64(text)
    if value is None:
        raise BadInput(key, f"expected {expected(spec)}, got {text[:64]!r}")
    return value


def _number(text: str, single: bool) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text.replace("Infinity", "inf"))
    if math.isfinite(value):
        return None if single and abs(value) > _FLOAT32_MAX else value
    return value if text in ("NaN", "Infinity", "-Infinity") else None  # e.g. 1e999


def _base64(text: str) -> bytes | None:
    if not _BASE64.fullmatch(text):
        return None
    standard = text.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except binascii.Error:
        return None


def expected(spec: FieldDescriptor) -> str:
    """What a field takes, in words, for error messages."""
    kind = spec.cpp_type
    if kind in INT_RANGES:
        return "an integer from {} to {}".format(*INT_RANGES[kind])
    if kind in _FLOATS:
        return "a number"
    if kind == FieldDescriptor.CPPTYPE_BOOL:
        return "true or false"
    if kind == FieldDescriptor.CPPTYPE_ENUM:
        return "one of " + ", ".join(v.name for v in spec.enum_type.values)
    if spec.type == FieldDescriptor.TYPE_BYTES:
        return "base64"
    if spec.message_type is not None:
        return _MESSAGE_TEXT.get(spec.message_type.full_name, "a JSON object")
    return "a string"


_MESSAGE_TEXT = {
    "google.protobuf.Timestamp": "an RFC 3339 time such as 2026-01-02T03:04:05Z",
    "google.protobuf.Duration": 'seconds with an "s", such as 1.5s',
    "google.protobuf.FieldMask": "field paths separated by commas",
    "google.protobuf.Struct": "a JSON object",
    "google.protobuf.ListValue": "a JSON array",
    "google.protobuf.Value": "a JSON value",
}


def _text_setter(descriptor: Descriptor, key: str) -> Callable[[Message, str], None]:
    """How a message of this type is filled from one text value (only well-known types are)."""
    name = descriptor.full_name

    def parse_with(method: str) -> Callable[[Message, str], None]:
        def fill(message: Message, text: str) -> None:
            try:
                getattr(message, method)(text)
            except ValueError as exc:
                raise BadInput(key, f"expected {_MESSAGE_TEXT[name]}, got {text[:64]!r}") from exc

        return fill

    if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        return parse_with("FromJsonString")
    if name == "google.protobuf.FieldMask":
        return lambda message, text: message.paths.extend(_field_mask_paths(text, key))
    if name in _WRAPPERS:
        inner = descriptor.fields_by_name["value"]
        return lambda message, text: setattr(message, "value", scalar(inner, text, key))
    if name in _JSON_TYPES:
        return lambda message, text: _parse_json(message, text, key)
    raise BadInput(key, "is a message: set its fields one by one, e.g. `field.name=`")


def _parse_json(message: Message, text: str, key: str) -> None:
    shown = _MESSAGE_TEXT[message.DESCRIPTOR.full_name]
    try:
        json_format.ParseDict(json.loads(text), message)
    except (ValueError, TypeError, RecursionError, json_format.ParseError) as exc:
        raise BadInput(key, f"expected {shown}") from exc


def _field_mask_paths(text: str, key: str) -> list[str]:
    """A FieldMask's paths from its JSON text (lowerCamelCase, converted as json_format does);
    a path with "_" is taken as snake_case already. Paths a response could not print back are
    refused."""
    paths = []
    for path in text.split(",") if text else []:
        if "_" in path:
            snake = path
        else:
            one = field_mask_pb2.FieldMask()
            one.FromJsonString(path)
            snake = one.paths[0] if one.paths else ""
        try:
            field_mask_pb2.FieldMask(paths=[snake]).ToJsonString()
        except ValueError as exc:
            raise BadInput(key, f"{path[:64]!r} is not a field path") from exc
        paths.append(snake)
    return paths


def query_pairs(query_string: bytes) -> list[tuple[str, str]]:
    """The (name, value) pairs of a raw query string, percent-decoded as UTF-8."""
    if not query_string:
        return []
    try:
        return parse_qsl(
            query_string.decode("latin-1"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_QUERY_PARAMETERS,
        )
    except UnicodeDecodeError as exc:
        raise BadInput("", "the query string is not UTF-8 once percent-decoded") from exc
    except ValueError as exc:  # more fields than the limit
        raise BadInput("", f"more than {MAX_QUERY_PARAMETERS} query parameters") from exc
