"""Which field of a refused JSON body is wrong, for the 400's field violation.

json_format's errors do not name the field reliably, so once a parse has failed this walks the
document along the message's fields and stops at the first key that is unknown or holds the
wrong kind of value. It runs only on that error path, and once over the document.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from services.gateway.params import INT_RANGES, BadInput, expected, field_named, scalar

Problem = tuple[str, str]  # (field path as the client wrote it, what is wrong)

_MAX_DEPTH = 100  # json_format's own limit
_SHAPES = {"google.protobuf.Struct": dict, "google.protobuf.ListValue": list}


def locate(descriptor: Descriptor, document: Any, path: str = "") -> Problem | None:
    """The first bad field of `document` for `descriptor`, or None when none is found."""
    return _message(descriptor, document, path, 0)


def _message(descriptor: Descriptor, document: Any, path: str, depth: int) -> Problem | None:
    if depth > _MAX_DEPTH:
        return path, "nested too deeply"
    if not isinstance(document, dict):
        return path, "expected a JSON object"
    for key, value in document.items():
        spec = field_named(descriptor, key)
        shown = f"{path}.{key}" if path else key
        if spec is None:
            return shown, "unknown field"
        if value is not None:
            found = _field(spec, value, shown, depth)
            if found:
                return found
    return None


def _field(spec: FieldDescriptor, value: Any, shown: str, depth: int) -> Problem | None:
    entry = spec.message_type
    if entry is not None and entry.GetOptions().map_entry:
        if not isinstance(value, dict):
            return shown, "expected a JSON object"
        for key, item in value.items():
            try:
                scalar(entry.fields_by_name["key"], key, shown)
            except BadInput:
                return f"{shown}.{key}", f"keys must be {expected(entry.fields_by_name['key'])}"
            found = _single(entry.fields_by_name["value"], item, f"{shown}.{key}", depth)
            if found:
                return found
        return None
    if spec.is_repeated:
        if not isinstance(value, list):
            return shown, "expected a JSON array"
        for index, item in enumerate(value):
            found = _single(spec, item, f"{shown}[{index}]", depth)
            if found:
                return found
        return None
    return _single(spec, value, shown, depth)


def _single(spec: FieldDescriptor, value: Any, shown: str, depth: int) -> Problem | None:
    kind = spec.message_type
    if kind is None:
        if _scalar_fits(spec, value):
            return None
        return shown, f"expected {expected(spec)}, got {json.dumps(value)[:64]}"
    if not kind.full_name.startswith("google.protobuf."):
        return _message(kind, value, shown, depth + 1)
    try:
        json_format.ParseDict(value, message_factory.GetMessageClass(kind)())
    except (json_format.ParseError, ValueError, TypeError, AttributeError, RecursionError):
        shape = _SHAPES.get(kind.full_name)
        if kind.full_name == "google.protobuf.Value" or (shape and isinstance(value, shape)):
            return shown, "nested too deeply"
        return shown, f"expected {expected(spec)}"
    return None


def _scalar_fits(spec: FieldDescriptor, value: Any) -> bool:
    kind = spec.cpp_type
    if isinstance(value, bool) or kind == FieldDescriptor.CPPTYPE_BOOL:
        return isinstance(value, bool) and kind == FieldDescriptor.CPPTYPE_BOOL
    if isinstance(value, str):
        try:
            scalar(spec, value, "")
        except BadInput:
            return False
        return True
    if not isinstance(value, int | float):
        return False
    if kind in INT_RANGES or kind == FieldDescriptor.CPPTYPE_ENUM:
        low, high = INT_RANGES.get(kind, INT_RANGES[FieldDescriptor.CPPTYPE_INT32])
        return float(value).is_integer() and low <= int(value) <= high
    return kind in (FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE)
