"""Collection definitions from the API: a `Collection` message checked and turned into a
`CollectionSpec`, with every problem reported at once as field violations
(`collection.fields[1].type`, ...)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from google.protobuf import json_format

from joist.v1 import collections_pb2
from services.common.errors import InvalidArgument
from services.records.models import INDEXABLE_SYSTEM_COLUMNS
from services.records.schema import (
    OPERATIONS,
    SYSTEM_FIELDS,
    Access,
    CollectionSpec,
    FieldSpec,
    FieldType,
    IndexSpec,
    Rules,
)
from services.records.values import check_value, render_value

NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_FIELDS = 200
MAX_INDEXES = 32
MAX_INDEX_FIELDS = 8
MAX_OPTIONS = 500
MAX_TEXT_LIMIT = 1_000_000
LENGTH_TYPES = frozenset({FieldType.TEXT, FieldType.EMAIL, FieldType.URL, FieldType.JSON})
UNINDEXABLE = frozenset({FieldType.JSON})
NAME_RULE = "must be lowercase letters, digits or _, start with a letter, at most 40 characters"


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, problem: str) -> None:
        self.items.append((path, problem))

    def raise_any(self) -> None:
        if self.items:
            summary = "; ".join(f"{path}: {problem}" for path, problem in self.items)
            raise InvalidArgument(f"invalid collection: {summary}", self.items)


def check_name(name: str, path: str = "name") -> str:
    if not NAME.fullmatch(name):
        raise InvalidArgument.field(path, NAME_RULE)
    return name


def to_spec(message: collections_pb2.Collection) -> CollectionSpec:
    """The spec a Collection message asks for; raises InvalidArgument naming each problem."""
    problems = _Problems()
    if not NAME.fullmatch(message.name):
        problems.add("collection.name", NAME_RULE)
    fields = tuple(
        _field(f, f"collection.fields[{i}]", problems) for i, f in enumerate(message.fields)
    )
    if len(fields) > MAX_FIELDS:
        problems.add("collection.fields", f"at most {MAX_FIELDS} fields")
    names = [f.name for f in fields]
    for name in {n for n in names if names.count(n) > 1}:
        problems.add("collection.fields", f"field {name!r} appears more than once")
    spec = CollectionSpec(message.name, fields, rules=_rules(message.rules))
    indexes = tuple(
        _index(spec, index, f"collection.indexes[{i}]", problems)
        for i, index in enumerate(message.indexes)
    )
    if len(indexes) > MAX_INDEXES:
        problems.add("collection.indexes", f"at most {MAX_INDEXES} indexes")
    if len(set(indexes)) < len(indexes):
        problems.add("collection.indexes", "the same index appears more than once")
    problems.raise_any()
    return replace(spec, indexes=indexes)


def _field(message: collections_pb2.Field, path: str, problems: _Problems) -> FieldSpec:
    if not NAME.fullmatch(message.name):
        problems.add(f"{path}.name", NAME_RULE)
    elif message.name in SYSTEM_FIELDS:
        problems.add(f"{path}.name", f"{message.name!r} is a system field")
    if message.type == collections_pb2.Field.TYPE_UNSPECIFIED:
        problems.add(f"{path}.type", "is required")
        kind = FieldType.TEXT
    else:
        kind = FieldType(collections_pb2.Field.Type.Name(message.type))
    max_length = message.max_length if message.HasField("max_length") else None
    if max_length is not None and kind not in LENGTH_TYPES:
        problems.add(f"{path}.max_length", f"does not apply to {kind.value} fields")
    elif max_length is not None and not 1 <= max_length <= MAX_TEXT_LIMIT:
        problems.add(f"{path}.max_length", f"must be between 1 and {MAX_TEXT_LIMIT}")
    options = tuple(message.options)
    if kind is FieldType.SELECT:
        if not options or len(options) > MAX_OPTIONS:
            problems.add(f"{path}.options", f"a SELECT field needs 1 to {MAX_OPTIONS} options")
        elif len(set(options)) < len(options) or not all(0 < len(o) <= 200 for o in options):
            problems.add(f"{path}.options", "must be distinct, non-empty, at most 200 characters")
    elif options:
        problems.add(f"{path}.options", "only a SELECT field has options")
    if kind is FieldType.RELATION and not NAME.fullmatch(message.relation):
        problems.add(f"{path}.relation", "a RELATION field names the collection it points into")
    elif kind is not FieldType.RELATION and message.relation:
        problems.add(f"{path}.relation", "only a RELATION field has a relation")
    if message.unique and kind in UNINDEXABLE | {FieldType.BOOL}:
        problems.add(f"{path}.unique", f"a {kind.value} field cannot be unique")
    spec = FieldSpec(
        name=message.name,
        type=kind,
        required=message.required,
        unique=message.unique,
        max_length=max_length,
        options=options,
        relation=message.relation,
        id=message.id,
    )
    if message.HasField("default"):
        spec = replace(spec, default=_default(spec, message.default, f"{path}.default", problems))
    return spec


def _default(spec: FieldSpec, value: Any, path: str, problems: _Problems) -> Any:
    raw = json_format.MessageToDict(value)
    if raw is None:
        return None
    try:
        return render_value(spec, check_value(spec, raw))
    except ValueError as problem:
        problems.add(path, str(problem))
        return None


def _index(
    spec: CollectionSpec, message: collections_pb2.Index, path: str, problems: _Problems
) -> IndexSpec:
    fields = tuple(message.fields)
    if not 1 <= len(fields) <= MAX_INDEX_FIELDS:
        problems.add(f"{path}.fields", f"an index has 1 to {MAX_INDEX_FIELDS} fields")
    for name in fields:
        field = spec.field(name)
        if field is None and name not in INDEXABLE_SYSTEM_COLUMNS:
            problems.add(f"{path}.fields", f"unknown field {name!r}")
        elif field is not None and field.type in UNINDEXABLE:
            problems.add(f"{path}.fields", f"{field.type.value} field {name!r} cannot be indexed")
    if len(set(fields)) < len(fields):
        problems.add(f"{path}.fields", "a field appears more than once")
    return IndexSpec(fields, message.unique)


def _rules(message: collections_pb2.Rules) -> Rules:
    def access(value: int) -> Access:
        if value == collections_pb2.Rules.ACCESS_UNSPECIFIED:
            return Access.ADMIN
        return Access(collections_pb2.Rules.Access.Name(value))

    return Rules(**{op: access(getattr(message, op)) for op in OPERATIONS})
