"""A record's values, checked and converted by field type: JSON in from the API, database
values out to the table, and JSON again out to the API and events.

    clean = check_data(spec, data)             # raises InvalidArgument naming every bad field

INTEGER values travel in `google.protobuf.Struct`, which holds doubles: integers beyond 2^53 are
refused rather than silently rounded. Times are stored as naive UTC datetimes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from services.common.errors import InvalidArgument
from services.common.timestamps import rfc3339
from services.records.schema import CollectionSpec, FieldSpec, FieldType

MAX_SAFE_INTEGER = 2**53
MAX_URL_LENGTH = 2048
MAX_JSON_LENGTH = 100_000
MAX_ID_LENGTH = 36


def check_data(
    spec: CollectionSpec,
    data: Mapping[str, Any],
    only: Iterable[str] | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """The database values for `data`; raises InvalidArgument listing every problem.

    With `only` (an update mask), just those fields are checked, and one missing from `data`
    is cleared; otherwise every field is, and a missing one takes its default."""
    violations: list[tuple[str, str]] = []
    for name in data:
        if spec.field(name) is None:
            known = ", ".join(f.name for f in spec.fields)
            violations.append((prefix + name, f"unknown field; {spec.name} has: {known}"))
    fields = spec.fields if only is None else [f for f in spec.fields if f.name in set(only)]
    clean: dict[str, Any] = {}
    for field in fields:
        value = data.get(field.name)
        if (value is None or value == "") and only is None and field.default is not None:
            value = field.default
        if value is None or value == "":
            if field.required:
                violations.append((prefix + field.name, "is required"))
            clean[field.name] = None
            continue
        try:
            clean[field.name] = check_value(field, value)
        except ValueError as problem:
            violations.append((prefix + field.name, str(problem)))
    if violations:
        summary = "; ".join(f"{name}: {problem}" for name, problem in violations)
        raise InvalidArgument(f"invalid {spec.name} record: {summary}", violations)
    return clean


def check_value(field: FieldSpec, value: Any) -> Any:
    """The database value for one JSON value of `field`; ValueError says what is wrong."""
    return _CHECKS[field.type](field, value)


def _text(field: FieldSpec, value: Any, limit: int | None = None) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    limit = field.max_length or limit
    if limit is not None and len(value) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _integer(field: FieldSpec, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be an integer")
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError("must be between -2^53 and 2^53")
    return int(value)


def _number(field: FieldSpec, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return float(value)


def _bool(field: FieldSpec, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _datetime(field: FieldSpec, value: Any) -> datetime:
    text = _text(field, value, 64)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError("must include a time zone offset, e.g. Z")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _email(field: FieldSpec, value: Any) -> str:
    text = _text(field, value, 254)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from exc


def _url(field: FieldSpec, value: Any) -> str:
    text = _text(field, value, MAX_URL_LENGTH)
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http or https URL")
    if any(c.isspace() for c in text):
        raise ValueError("must not contain spaces")
    return text


def _select(field: FieldSpec, value: Any) -> str:
    if value not in field.options:
        raise ValueError(f"must be one of: {', '.join(field.options)}")
    return value


def _json(field: FieldSpec, value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if len(text) > (field.max_length or MAX_JSON_LENGTH):
        raise ValueError(f"must be at most {field.max_length or MAX_JSON_LENGTH} characters")
    return text


def _relation(field: FieldSpec, value: Any) -> str:
    return _text(field, value, MAX_ID_LENGTH)


_CHECKS: dict[FieldType, Callable[[FieldSpec, Any], Any]] = {
    FieldType.TEXT: _text,
    FieldType.INTEGER: _integer,
    FieldType.NUMBER: _number,
    FieldType.BOOL: _bool,
    FieldType.DATETIME: _datetime,
    FieldType.EMAIL: _email,
    FieldType.URL: _url,
    FieldType.SELECT: _select,
    FieldType.JSON: _json,
    FieldType.RELATION: _relation,
}


_RENDERERS: dict[FieldType, Callable[[Any], Any]] = {
    FieldType.DATETIME: rfc3339,
    FieldType.JSON: json.loads,
    FieldType.INTEGER: int,
    FieldType.NUMBER: float,
}


def value_renderer(field: FieldSpec) -> Callable[[Any], Any] | None:
    """How a stored value of `field` becomes JSON; None when it already is (text, booleans)."""
    return _RENDERERS.get(field.type)


def render_value(field: FieldSpec, value: Any) -> Any:
    """The JSON value of a stored one (None stays None)."""
    render = value_renderer(field)
    return value if value is None or render is None else render(value)
