"""Validation of a record's data against its collection's schema.

All problems are collected, then raised together as one InvalidArgument whose field
violations name each field (`email`, `message`, ...).
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email

from services.common.errors import InvalidArgument
from services.records.schema import CollectionSpec, FieldSpec, FieldType


def validate_data(collection: CollectionSpec, data: dict[str, Any]) -> dict[str, Any]:
    """The clean values to store for `data`; raises InvalidArgument listing every problem."""
    violations: list[tuple[str, str]] = []
    known = ", ".join(f.name for f in collection.fields)
    for name in data:
        if collection.field(name) is None:
            violations.append((name, f"unknown field; {collection.name} has: {known}"))
    clean: dict[str, Any] = {}
    for spec in collection.fields:
        value = data.get(spec.name)
        if value is None or value == "":
            if spec.required:
                violations.append((spec.name, "is required"))
            continue
        try:
            clean[spec.name] = _check_value(spec, value)
        except ValueError as problem:
            violations.append((spec.name, str(problem)))
    if violations:
        summary = "; ".join(f"{field}: {problem}" for field, problem in violations)
        raise InvalidArgument(f"invalid {collection.name} record: {summary}", violations)
    return clean


def _check_value(spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if spec.max_length is not None and len(value) > spec.max_length:
        raise ValueError(f"must be at most {spec.max_length} characters")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if spec.type is FieldType.EMAIL:
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"is not a valid email address: {exc}") from exc
    return value
