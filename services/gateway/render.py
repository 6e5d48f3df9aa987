"""Protobuf messages as proto3 JSON documents, fast: a renderer compiled once per message type
from its descriptor (one small function per field), giving what `json_format.MessageToDict`
gives with `always_print_fields_with_no_presence=True` — lowerCamelCase names, enums by name,
64-bit integers as strings, bytes in base64, NaN and Infinity as strings, the well-known types
in their JSON forms, every field without presence at its zero value too, fields with presence
(messages, oneof members, proto3 `optional`) only when set — with keys in field-number order,
and the entries of maps and Structs sorted by key, as protojson writes them (a map's order
on the wire is undefined and changes from one process to the next).

The elements of repeated message fields (the records of a page) are rendered once per content,
their documents kept by type and serialized bytes (`services/gateway/kept.py`): a record listed
again costs its serialization in protobuf's C code and a look-up (~0.9 µs) instead of its
rendering (~4 µs); one seen for the first time costs ~1.5 µs more. The documents handed out are
shared: callers encode them and never change them.

One deliberate difference: a `google.protobuf.Value` number that is integral and within ±2^53
is an integer (`3`, not `3.0`), since records keeps INTEGER fields in a Struct and clients must
get back the `3` they stored. Types this module does not compile (`Any`, closed enums, messages
with extensions) are rendered by json_format itself.
"""

from __future__ import annotations

import base64
import datetime
import math
import operator
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal.type_checkers import ToShortestFloat
from google.protobuf.message import Message

from services.gateway.kept import KeptDocuments

Render = Callable[[Any], Any]  # a message, or a field's value, to its JSON document

_MAX_SAFE_INTEGER = 2**53
_INFINITY = math.inf
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_SECONDS_PER_DAY = 86400
# Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z
_MIN_TIMESTAMP, _MAX_TIMESTAMP = -62135596800, 253402300799
_NANOS_PER_SECOND = 1_000_000_000
_WRAPPERS_FILE = "google/protobuf/wrappers.proto"
_HOURS = [f"{hour:02d}" for hour in range(24)]
_SIXTIETHS = [f":{number:02d}" for number in range(60)]  # minutes and seconds
_DATES_KEPT = 4096  # days whose date text is kept
_dates: dict[int, str] = {}
_last_timestamp: list[tuple[int, int, str]] = [(0, -1, "")]  # seconds, nanos, its text

_renderers: dict[Descriptor, Render] = {}
_compiled: set[Descriptor] = set()  # the types rendered by `_compile_message`'s own renderer

# A record of a few short texts: ~250 bytes serialized, ~1.5 KB with its document and key.
# At most 4096 of those (~6 MB); at most 4 MiB of bytes (~8-12 MB) when records are larger.
_documents = KeptDocuments(most=4096, most_bytes=4 << 20, largest=64 << 10)


def kept_documents() -> KeptDocuments:
    """The documents of repeated elements this process keeps (its metrics read them)."""
    return _documents


def to_document(message: Message) -> Any:
    """`message` as its proto3 JSON document (dicts, lists, strings, numbers, None)."""
    return renderer(message.DESCRIPTOR)(message)


def renderer(descriptor: Descriptor) -> Render:
    """The renderer of one message type, compiled on first use."""
    found = _renderers.get(descriptor)
    if found is None:
        found = _compile_message(descriptor)
    return found


def field_renderer(field: FieldDescriptor) -> Render | None:
    """The renderer of one field's value (a whole list or map for repeated fields); None when
    the value is its own JSON (strings, 32-bit integers, booleans)."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key_field, value_field = field.message_type.fields
        render_value = _value_renderer(value_field)
        render_key = _map_key if key_field.type == FieldDescriptor.TYPE_BOOL else str
        if render_value is None:
            return lambda entries: {render_key(key): entries[key] for key in sorted(entries)}
        return lambda entries: {
            render_key(key): render_value(entries[key]) for key in sorted(entries)
        }
    render = _value_renderer(field)
    if field.is_repeated:
        if render is None:
            return list
        if field.message_type in _compiled:
            return _kept_renderer(field.message_type, render)
        return lambda values: [render(value) for value in values]
    return render


def _kept_renderer(descriptor: Descriptor, render: Render) -> Render:
    """Renders the elements of a repeated `descriptor` field, each through `_documents`."""

    def render_elements(values: Any) -> list[Any]:
        documents = []
        for value in values:
            key = (descriptor, value.SerializeToString())
            document = _documents.get(key)
            if document is None:
                document = render(value)  # raises for what JSON cannot say: nothing is kept
                _documents.keep(key, document)
            documents.append(document)
        return documents

    return render_elements


# --- messages --------------------------------------------------------------------------------


def _compile_message(descriptor: Descriptor) -> Render:
    render = _SPECIAL.get(descriptor.full_name)
    if render is None and descriptor.file.name == _WRAPPERS_FILE:
        render = _wrapper_renderer(descriptor.fields_by_name["value"])
    if render is None and not _compilable(descriptor):
        render = _by_json_format
    if render is not None:
        _renderers[descriptor] = render
        return render

    # Set once the renderer is registered (a type may contain itself), read by each call: every
    # field's JSON name, a getter of all their values in one call, and the fields that need more
    # than their value as it is: (JSON name, attribute, renderer or None, has presence).
    def render_message(message: Any) -> dict[str, Any]:
        document = dict(zip(names, get_values(message), strict=True))
        for name, attr, render_field, presence in special:
            if presence and not message.HasField(attr):
                del document[name]
            elif render_field is not None:
                document[name] = render_field(document[name])
        return document

    _renderers[descriptor] = render_message
    _compiled.add(descriptor)
    fields = sorted(descriptor.fields, key=lambda field: field.number)
    names = [field.json_name for field in fields]
    get_values = _values_getter([field.name for field in fields])
    special: list[tuple[str, str, Render | None, bool]] = []
    for field in fields:
        render_field = field_renderer(field)
        if render_field is not None or field.has_presence:
            special.append((field.json_name, field.name, render_field, field.has_presence))
    return render_message


def _values_getter(attributes: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of `attributes` of a message as a tuple, in one call."""
    if len(attributes) > 1:
        return operator.attrgetter(*attributes)
    return lambda message: tuple(getattr(message, attribute) for attribute in attributes)


def _wrapper_renderer(value_field: FieldDescriptor) -> Render:
    render_value = field_renderer(value_field)
    if render_value is None:
        return lambda message: message.value
    return lambda message: render_value(message.value)


def _compilable(descriptor: Descriptor) -> bool:
    """False for what json_format renders in ways this module does not copy."""
    if descriptor.extension_ranges:
        return False
    return not any(
        field.enum_type is not None and field.enum_type.is_closed for field in descriptor.fields
    )


def _by_json_format(message: Message) -> Any:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


# --- one value of a field --------------------------------------------------------------------


def _value_renderer(field: FieldDescriptor) -> Render | None:
    """How one value of `field` becomes JSON; None when it already is its JSON (strings,
    32-bit integers, booleans)."""
    kind = field.cpp_type
    if kind == FieldDescriptor.CPPTYPE_MESSAGE:
        return renderer(field.message_type)
    if kind == FieldDescriptor.CPPTYPE_ENUM:
        if field.enum_type.full_name == "google.protobuf.NullValue":
            return lambda value: None
        names = {number: value.name for number, value in field.enum_type.values_by_number.items()}
        return lambda value: names.get(value, value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return _base64
    if kind in (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64):
        return str
    if kind == FieldDescriptor.CPPTYPE_DOUBLE:
        return _double
    if kind == FieldDescriptor.CPPTYPE_FLOAT:
        return _float
    return None


def _map_key(key: bool) -> str:
    return "true" if key else "false"


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _double(value: float) -> float | str:
    if -_INFINITY < value < _INFINITY:
        return value
    return _non_finite(value)


def _float(value: float) -> float | str:
    if -_INFINITY < value < _INFINITY:
        return ToShortestFloat(value)
    return _non_finite(value)


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


# --- well-known types ------------------------------------------------------------------------


def _timestamp(message: Any) -> str:
    """RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as Timestamp.ToJsonString. The
    last one is remembered: a record's update time is often its create time."""
    seconds, nanos = message.seconds, message.nanos
    last = _last_timestamp[0]
    if seconds == last[0] and nanos == last[1]:
        return last[2]
    if not (_MIN_TIMESTAMP <= seconds <= _MAX_TIMESTAMP and 0 <= nanos < _NANOS_PER_SECOND):
        return message.ToJsonString()  # raises the ValueError naming the problem
    days, rest = divmod(seconds, _SECONDS_PER_DAY)
    date = _dates.get(days) or _date(days)
    text = date + _HOURS[rest // 3600] + _SIXTIETHS[rest // 60 % 60] + _SIXTIETHS[rest % 60]
    if not nanos:
        text += "Z"
    else:
        fraction = str(_NANOS_PER_SECOND + nanos)  # "1" and the nine digits
        if not nanos % 1_000_000:
            text = f"{text}.{fraction[1:4]}Z"
        elif not nanos % 1000:
            text = f"{text}.{fraction[1:7]}Z"
        else:
            text = f"{text}.{fraction[1:]}Z"
    _last_timestamp[0] = (seconds, nanos, text)
    return text


def _date(days: int) -> str:
    """'YYYY-MM-DDT' of a day since the epoch, kept for the next timestamps of that day."""
    if len(_dates) >= _DATES_KEPT:
        _dates.clear()
    date = _dates[days] = datetime.date.fromordinal(_EPOCH_ORDINAL + days).isoformat() + "T"
    return date


def _value(message: Any) -> Any:
    kind = message.WhichOneof("kind")
    if kind == "string_value":
        return message.string_value
    if kind == "number_value":
        number = message.number_value
        if not -_INFINITY < number < _INFINITY:
            raise json_format.SerializeToJsonError(
                f"cannot write {number} as a google.protobuf.Value number"
            )
        if number.is_integer() and -_MAX_SAFE_INTEGER <= number <= _MAX_SAFE_INTEGER:
            return int(number)
        return number
    if kind == "bool_value":
        return message.bool_value
    if kind == "struct_value":
        return _struct(message.struct_value)
    if kind == "list_value":
        return _list_value(message.list_value)
    return None  # null_value, or no kind set


def _struct(message: Any) -> dict[str, Any]:
    document = {}
    fields = message.fields
    for key in sorted(fields):
        value = fields[key]
        # text, the most common value, without a call to _value (which sorts out the rest,
        # the empty text included)
        document[key] = value.string_value or _value(value)
    return document


def _list_value(message: Any) -> list[Any]:
    return [_value(value) for value in message.values]


def _json_string(message: Any) -> str:
    return message.ToJsonString()


_SPECIAL: dict[str, Render] = {
    "google.protobuf.Timestamp": _timestamp,
    "google.protobuf.Duration": _json_string,
    "google.protobuf.FieldMask": _json_string,
    "google.protobuf.Struct": _struct,
    "google.protobuf.Value": _value,
    "google.protobuf.ListValue": _list_value,
    "google.protobuf.Any": _by_json_format,
}
