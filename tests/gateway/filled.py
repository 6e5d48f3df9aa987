"""Messages of any type with random fields set, for hypothesis: every kind of scalar at its
edges (NaN, infinities, 64-bit extremes, unknown enum numbers), repeated fields, maps, oneofs,
proto3 `optional`, nested messages a few levels deep and the well-known types with valid
values (Timestamp, Duration, FieldMask, Struct, Value, ListValue, wrappers, Empty, Any)."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

Draw = Any  # hypothesis's `data.draw`

MAX_DEPTH = 3
_INT_RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_MIN_TIMESTAMP, _MAX_TIMESTAMP = -62135596800, 253402300799
_MAX_DURATION = 315576000000
_NANOS = st.one_of(
    st.just(0),
    st.integers(0, 999).map(lambda n: n * 1_000_000),
    st.integers(0, 999_999).map(lambda n: n * 1000),
    st.integers(0, 999_999_999),
)
_FIELD_MASK_PATH = st.from_regex(r"[a-z]{1,5}(_[a-z]{1,5}){0,2}(\.[a-z]{1,5}){0,2}", fullmatch=True)
# JSON documents as a Struct holds them: every number a double (integral ones too)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**60), 2**60).map(float),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


def fill(draw: Draw, message: Message, depth: int = 0) -> None:
    """Sets random fields of `message` (a well-known type gets a valid value)."""
    descriptor = message.DESCRIPTOR
    special = _WELL_KNOWN.get(descriptor.full_name)
    if special is not None:
        special(draw, message, depth)
        return
    for field in descriptor.fields:
        if field.message_type is not None and depth >= MAX_DEPTH:
            continue
        if draw(st.booleans()):
            _fill_field(draw, message, field, depth)


def _fill_field(draw: Draw, message: Message, field: FieldDescriptor, depth: int) -> None:
    target = getattr(message, field.name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key_field, value_field = field.message_type.fields
        for key in draw(st.lists(_scalar(key_field), max_size=3, unique=True)):
            if value_field.message_type is not None:
                fill(draw, target[key], depth + 1)
            else:
                target[key] = draw(_scalar(value_field))
    elif field.is_repeated:
        for _ in range(draw(st.integers(0, 3))):
            if field.message_type is not None:
                fill(draw, target.add(), depth + 1)
            else:
                target.append(draw(_scalar(field)))
    elif field.message_type is not None:
        target.SetInParent()
        fill(draw, target, depth + 1)
    else:
        setattr(message, field.name, draw(_scalar(field)))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.cpp_type
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        return st.integers(low, high) | st.sampled_from([low, high, 0, -1 if low else 1])
    if kind == FieldDescriptor.CPPTYPE_ENUM:
        numbers = sorted(field.enum_type.values_by_number)
        return st.sampled_from(numbers) | st.integers(-(2**31), 2**31 - 1)  # open enums
    if kind == FieldDescriptor.CPPTYPE_DOUBLE:
        return st.floats()
    if kind == FieldDescriptor.CPPTYPE_FLOAT:
        return st.floats(width=32)
    if kind == FieldDescriptor.CPPTYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=12)
    return st.text(max_size=12)


def _timestamp(draw: Draw, message: Any, depth: int) -> None:
    message.seconds = draw(st.integers(_MIN_TIMESTAMP, _MAX_TIMESTAMP) | st.integers(0, 2**31))
    message.nanos = draw(_NANOS)


def _duration(draw: Draw, message: Any, depth: int) -> None:
    sign = draw(st.sampled_from([1, -1]))
    message.seconds = sign * draw(st.integers(0, _MAX_DURATION))
    message.nanos = sign * draw(_NANOS)


def _field_mask(draw: Draw, message: Any, depth: int) -> None:
    message.paths.extend(draw(st.lists(_FIELD_MASK_PATH, max_size=3)))


def _struct(draw: Draw, message: Any, depth: int) -> None:
    message.update(draw(st.dictionaries(st.text(max_size=5), _JSON, max_size=4)))


def _value(draw: Draw, message: Any, depth: int) -> None:
    document = draw(_JSON)
    if document is None:
        message.null_value = struct_pb2.NULL_VALUE
    else:
        message.MergeFrom(_as_value(document))


def _list_value(draw: Draw, message: Any, depth: int) -> None:
    message.extend(draw(st.lists(_JSON, max_size=4)))


def _any(draw: Draw, message: Any, depth: int) -> None:
    packed = draw(st.sampled_from([timestamp_pb2.Timestamp, struct_pb2.Struct]))()
    fill(draw, packed, depth + 1)
    message.Pack(packed)


def _as_value(document: Any) -> struct_pb2.Value:
    holder = struct_pb2.ListValue()
    holder.append(document)
    return holder.values[0]


_WELL_KNOWN = {
    "google.protobuf.Timestamp": _timestamp,
    "google.protobuf.Duration": _duration,
    "google.protobuf.FieldMask": _field_mask,
    "google.protobuf.Struct": _struct,
    "google.protobuf.Value": _value,
    "google.protobuf.ListValue": _list_value,
    "google.protobuf.Any": _any,
}


def message_types(file_descriptor: Any) -> list[Descriptor]:
    """Every message type a .proto file defines, nested ones too (map entries left out)."""
    found: list[Descriptor] = []
    pending = list(file_descriptor.message_types_by_name.values())
    while pending:
        descriptor = pending.pop()
        if not descriptor.GetOptions().map_entry:
            found.append(descriptor)
            pending.extend(descriptor.nested_types)
    return found
