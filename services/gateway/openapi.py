"""The OpenAPI 3.1 description of the REST surface, built from the gateway's route table.

It describes what the transcoder (`transcode.py`) accepts and what it returns, no more:

- path parameters: the template's variables, `{name=projects/*}` written `{name}` with the
  sub-pattern as the schema's `pattern`; custom verbs stay literal (`/v1/jobs/{name}:run`);
- query parameters: the request's top-level fields not bound by the path or the body that a
  query value can set (scalars, enums, repeated scalars, and the well-known types written as
  one JSON string), named in lowerCamelCase; none when the body is `*`; an AIP-158
  `page_size` is never negative;
- bodies and responses in proto3 JSON: lowerCamelCase, enums by name, 64-bit integers as
  strings, unknown fields rejected (`additionalProperties: false`), nothing `required`
  (unset message fields are left out of responses);
- errors in the `google.rpc.Status` shape, for the statuses the gateway produces itself and
  as the `default` response;
- the protos' comments as descriptions, when `comments` (from `proto_comments`, read from the
  descriptor set `make protos` writes with source info) is given: a service's on its tag, an
  RPC's first paragraph as the operation's `summary` and the rest as its `description`, a
  message's on its schema, a field's on its property or parameter, and an enum's with its
  values' as a list on each field of that type. Without a comment the summary is the method's
  name.
"""

from __future__ import annotations

import copy
import re
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from services.gateway.routes import Route, compile_template

Schema = dict[str, Any]

_T = FieldDescriptor
_RANGES = {  # integer types: (lowest, highest)
    **dict.fromkeys((_T.TYPE_INT32, _T.TYPE_SINT32, _T.TYPE_SFIXED32), (-(2**31), 2**31 - 1)),
    **dict.fromkeys((_T.TYPE_UINT32, _T.TYPE_FIXED32), (0, 2**32 - 1)),
    **dict.fromkeys((_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64), (-(2**63), 2**63 - 1)),
    **dict.fromkeys((_T.TYPE_UINT64, _T.TYPE_FIXED64), (0, 2**64 - 1)),
}
_FLOAT_MAX = 3.4028235e38  # as printed; the parser takes up to 3.4028234663852886e38
_BASE64 = "^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2,3}={0,2})?$"  # either alphabet
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_ERROR_STATUSES = ("400", "404", "413", "415", "503", "504")  # answered by the gateway itself
_VARIABLE = re.compile(r"\{([^}=]+)(?:=([^}]*))?\}")


def _upto(limit: int) -> str:
    """A regex alternation for the decimal numbers 0..limit, without leading zeros."""
    digits = str(limit)
    options = [digits] + [
        f"{digits[:i]}[0-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}"
        for i, d in enumerate(digits)
        if d != "0"
    ]
    return "|".join([*options, f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else options)


def _decimal(low: int, high: int) -> str:
    """A pattern for the integers low..high as strings (what `int()` takes, signs aside)."""
    negative = f"|-0*(?:{_upto(-low)})" if low < 0 else ""
    return f"^(?:0*(?:{_upto(high)}){negative})$"


# The strings protobuf's parsers take, not all that the JSON Schema formats allow.
_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "pattern": r"^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9]"
        r"(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$",
    },
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": rf"^-?0*(?:{_upto(315_576_000_000)})(\.[0-9]{{1,9}})?s$",
    },
    "google.protobuf.FieldMask": {"type": "string", "pattern": "^[^_]*$"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Value": {},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}
_WRAPPERS = {
    f"google.protobuf.{kind}Value"
    for kind in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
}
# Message fields a query value can set: the transcoder parses the value as one JSON string.
_QUERYABLE = {f"google.protobuf.{name}" for name in ("Timestamp", "Duration", "FieldMask")} | (
    _WRAPPERS - {"google.protobuf.BoolValue"}
)

_STATUS: Schema = {  # google.rpc.Status; nothing required: proto3 JSON omits empty fields
    "type": "object",
    "properties": {
        "code": {"type": "integer", "format": "int32", "description": "a google.rpc.Code"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": _WELL_KNOWN["google.protobuf.Any"]},
    },
}


# Field numbers in descriptor.proto that lead, in a SourceCodeInfo path, to a named element.
_FILE_MESSAGES, _FILE_ENUMS, _FILE_SERVICES = 4, 5, 6
_MESSAGE_FIELDS, _MESSAGE_NESTED, _MESSAGE_ENUMS = 2, 3, 4
_ENUM_VALUES = _SERVICE_METHODS = 2


def proto_comments(descriptor_set: bytes) -> dict[str, str]:
    """The comments of a FileDescriptorSet written with source info, by the element's full name:
    services, methods (`pkg.Service.Method`), messages, fields (`pkg.Message.field`), enums, and
    enum values (`pkg.Enum.VALUE`, scoped by their enum). The leading comment, else the trailing
    one, with the comment markers' indentation removed."""
    comments: dict[str, str] = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file:
        names = dict(_element_paths(file))
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            text = textwrap.dedent(location.leading_comments or location.trailing_comments)
            if name is not None and text.strip():
                comments[name] = text.strip()
    return comments


def _element_paths(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[tuple, str]]:
    prefix = f"{file.package}." if file.package else ""
    for i, service in enumerate(file.service):
        yield (_FILE_SERVICES, i), prefix + service.name
        for j, method in enumerate(service.method):
            yield (_FILE_SERVICES, i, _SERVICE_METHODS, j), f"{prefix}{service.name}.{method.name}"
    for i, message in enumerate(file.message_type):
        yield from _message_paths(message, (_FILE_MESSAGES, i), prefix + message.name)
    for i, enum in enumerate(file.enum_type):
        yield from _enum_paths(enum, (_FILE_ENUMS, i), prefix + enum.name)


def _message_paths(
    message: descriptor_pb2.DescriptorProto, path: tuple, name: str
) -> Iterator[tuple[tuple, str]]:
    yield path, name
    for i, field in enumerate(message.field):
        yield (*path, _MESSAGE_FIELDS, i), f"{name}.{field.name}"
    for i, nested in enumerate(message.nested_type):
        yield from _message_paths(nested, (*path, _MESSAGE_NESTED, i), f"{name}.{nested.name}")
    for i, enum in enumerate(message.enum_type):
        yield from _enum_paths(enum, (*path, _MESSAGE_ENUMS, i), f"{name}.{enum.name}")


def _enum_paths(
    enum: descriptor_pb2.EnumDescriptorProto, path: tuple, name: str
) -> Iterator[tuple[tuple, str]]:
    yield path, name
    for i, value in enumerate(enum.value):
        yield (*path, _ENUM_VALUES, i), f"{name}.{value.name}"


class _Comments:
    """Descriptions for the document's parts, from the protos' comments."""

    def __init__(self, comments: Mapping[str, str]) -> None:
        self._comments = comments

    def of(self, element: Descriptor | ServiceDescriptor | EnumDescriptor) -> str:
        return self._comments.get(element.full_name, "")

    def summary(self, method: MethodDescriptor) -> tuple[str, str]:
        """The first paragraph of the method's comment in one line, and the rest."""
        first, _, rest = self._comments.get(method.full_name, "").partition("\n\n")
        return " ".join(first.split()), rest.strip()

    def field(self, spec: FieldDescriptor) -> str:
        """The field's comment, then its enum's and the enum values' (a Markdown list)."""
        parts = [self._comments.get(spec.full_name, "")]
        enum = spec.enum_type
        if enum is not None and enum.full_name != "google.protobuf.NullValue":
            parts.append(self.of(enum))
            values = [
                (value.name, self._comments.get(f"{enum.full_name}.{value.name}", ""))
                for value in enum.values
            ]
            if any(text for _, text in values):
                parts.append(
                    "\n".join(
                        f"- `{name}`" + (f": {' '.join(text.split())}" if text else "")
                        for name, text in values
                    )
                )
        return "\n\n".join(part for part in parts if part)


def _described(target: dict[str, Any], *texts: str) -> dict[str, Any]:
    """`target` with the non-empty texts as its description, after any it has."""
    text = "\n\n".join(t for t in (target.get("description", ""), *texts) if t)
    if text:
        target["description"] = text
    return target


def build_openapi(
    routes: Iterable[Route],
    title: str,
    version: str,
    comments: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-serialisable dict) of `routes`, described by
    `comments` (from `proto_comments`) when given."""
    docs = _Comments(comments or {})
    schemas = _Schemas(docs)
    paths: dict[str, dict[str, Any]] = {}
    names_of: dict[str, tuple[str, ...]] = {}  # template shape -> the path's variable names
    tags: dict[str, ServiceDescriptor] = {}
    for route in sorted(routes, key=_order):
        verb = route.http_method.lower()
        if verb not in _OPERATIONS:
            continue
        # OpenAPI forbids /v1/{name} beside /v1/{book.name}: the transcoder binds variables by
        # position, so a later route reuses the names of the first one with its shape.
        shape = _VARIABLE.sub("{}", route.template)
        names = names_of.setdefault(shape, route.variables)
        path = shape.format(*(f"{{{name}}}" for name in names))
        if verb in paths.get(path, {}):
            raise ValueError(f"{route.http_method} {route.template}: OpenAPI has one {path}")
        paths.setdefault(path, {})[verb] = _operation(route, names, schemas, docs)
        service = route.method.containing_service
        tags[service.name] = service
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "tags": [_described({"name": tag}, docs.of(tags[tag])) for tag in sorted(tags)],
        "paths": {
            path: {verb: item[verb] for verb in _OPERATIONS if verb in item}
            for path, item in sorted(paths.items())
        },
        "components": {
            "schemas": dict(
                sorted({**schemas.components, "Status": copy.deepcopy(_STATUS)}.items())
            ),
            "responses": {
                "Error": {
                    "description": "An error, in the google.rpc.Status shape.",
                    "content": {"application/json": {"schema": _ref("Status")}},
                }
            },
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _order(route: Route) -> tuple[str, int, int]:
    method = route.method
    return method.containing_service.full_name, method.index, _binding_index(route)


def _operation(
    route: Route, names: tuple[str, ...], schemas: _Schemas, docs: _Comments
) -> dict[str, Any]:
    method, request = route.method, route.method.input_type
    service = method.containing_service.name
    index = _binding_index(route)
    summary, description = docs.summary(method)
    operation: dict[str, Any] = {
        "operationId": f"{service}_{method.name}" + (f"_{index + 1}" if index else ""),
        "tags": [service],
        "summary": summary or method.name,
    }
    _described(operation, description)
    subs = {m.group(1): m.group(2) or "*" for m in _VARIABLE.finditer(route.template)}
    parameters = [
        _path_parameter(request, field, subs.get(field, "*"), shown, docs)
        for field, shown in zip(route.variables, names, strict=True)
    ]
    bound = {name.split(".")[0] for name in route.variables}
    if route.body != "*":
        bound.add(route.body)
        parameters += [
            _described(_query_parameter(spec), docs.field(spec))
            for spec in request.fields
            if spec.name not in bound and _queryable(spec)
        ]
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        about = ""  # body "*": the message's schema has its description
        if route.body == "*":
            body = schemas.message(request, skip=bound) if bound else schemas.ref(request)
        else:
            body = schemas.field(request.fields_by_name[route.body])
            about = docs.field(request.fields_by_name[route.body])
        operation["requestBody"] = {  # an empty body is read as {}
            "required": False,
            "content": {"application/json": {"schema": body}},
        }
        _described(operation["requestBody"], about)
    if route.response_body:
        answer = schemas.field(method.output_type.fields_by_name[route.response_body])
    else:
        answer = schemas.ref(method.output_type)
    error = {"$ref": "#/components/responses/Error"}
    operation["responses"] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": answer}}},
        **dict.fromkeys(_ERROR_STATUSES, error),
        "default": error,
    }
    return operation


def _binding_index(route: Route) -> int:
    """0 for the method's main `google.api.http` rule, i for its additional binding i - 1."""
    rule = route.method.GetOptions().Extensions[annotations_pb2.http]
    wanted = (route.http_method, route.template, route.body)
    for index, binding in enumerate([rule, *rule.additional_bindings]):
        kind = binding.WhichOneof("pattern") or "get"
        custom = binding.custom
        verb, template = (
            (custom.kind, custom.path) if kind == "custom" else (kind, getattr(binding, kind))
        )
        if (verb.upper(), template, binding.body) == wanted:
            return index
    return 0


def _path_parameter(
    request: Descriptor, field: str, sub_pattern: str, name: str, docs: _Comments
) -> Schema:
    spec = _resolve(request, field)
    schema = _scalar(spec, query=True) if spec is not None else {"type": "string"}
    if schema == {"type": "string"}:  # the template's regex for the value
        schema["pattern"] = f"^{compile_template('/' + sub_pattern)[0].pattern[1:]}$"
    parameter = {"name": name, "in": "path", "required": True, "schema": schema}
    if "/" in sub_pattern:  # a value with slashes: tells clients (and fuzzers) it is meant
        parameter["example"] = re.sub(r"\*\*?", "x", sub_pattern)
    if name != field:
        parameter["description"] = f"Sets the request's `{field}` field."
    return _described(parameter, docs.field(spec) if spec is not None else "")


def _resolve(message: Descriptor, path: str) -> FieldDescriptor | None:
    *parents, last = path.split(".")
    for part in parents:
        spec = message.fields_by_name.get(part)
        if spec is None or spec.message_type is None:
            return None
        message = spec.message_type
    return message.fields_by_name.get(last)


def _queryable(spec: FieldDescriptor) -> bool:
    message = spec.message_type
    return message is None or (not spec.is_repeated and message.full_name in _QUERYABLE)


def _query_parameter(spec: FieldDescriptor) -> dict[str, Any]:
    if spec.message_type is None:
        schema = _scalar(spec, query=True)
    elif spec.message_type.full_name in _WRAPPERS:
        schema = _scalar(spec.message_type.fields_by_name["value"], query=True)
    else:
        schema = copy.deepcopy(_WELL_KNOWN[spec.message_type.full_name])
    if spec.name == "page_size" and schema.get("type") == "integer":
        schema["minimum"] = 0  # AIP-158: a negative page size is INVALID_ARGUMENT
    if spec.is_repeated:
        schema = {"type": "array", "items": schema}
    # camelcase_name: the transcoder matches query keys by it (and by the proto name).
    return {"name": spec.camelcase_name, "in": "query", "schema": schema}


def _scalar(spec: FieldDescriptor, query: bool) -> Schema:
    """A non-message field's value, as a query parameter or in proto3 JSON."""
    kind = spec.type
    if kind in _RANGES:
        low, high = _RANGES[kind]
        if high >= 2**32 and not query:  # 64-bit: a string in proto3 JSON
            return {"type": "string", "pattern": _decimal(low, high)}
        schema = {"type": "integer", "minimum": low, "maximum": high}
        if high < 2**63:
            schema["format"] = "int32" if high < 2**31 else "int64"
        return schema
    if kind in (_T.TYPE_DOUBLE, _T.TYPE_FLOAT):
        schema: Schema = {"type": "number" if query else ["number", "string"]}
        if not query:
            schema["pattern"] = "^(NaN|-?Infinity)$"
        if kind == _T.TYPE_FLOAT:
            schema.update(minimum=-_FLOAT_MAX, maximum=_FLOAT_MAX)
        return schema
    if kind == _T.TYPE_BOOL:
        return {"type": "boolean"}
    if kind == _T.TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64", "pattern": _BASE64}
    if kind == _T.TYPE_ENUM:
        if spec.enum_type.full_name == "google.protobuf.NullValue":
            return {"type": "null"}
        return {"type": "string", "enum": [value.name for value in spec.enum_type.values]}
    return {"type": "string"}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


class _Schemas:
    """Message schemas in proto3 JSON, collected under their full names as they are met."""

    def __init__(self, docs: _Comments) -> None:
        self.components: dict[str, Schema] = {}
        self._docs = docs

    def ref(self, message: Descriptor) -> Schema:
        name = message.full_name
        if name in _WELL_KNOWN:
            return copy.deepcopy(_WELL_KNOWN[name])
        if name in _WRAPPERS:
            return _scalar(message.fields_by_name["value"], query=False)
        if name not in self.components:
            self.components[name] = {}  # placeholder: a message may contain itself
            self.components[name] = self.message(message)
        return _ref(name)

    def message(self, message: Descriptor, skip: Iterable[str] = ()) -> Schema:
        properties = {
            spec.json_name: _described(self.field(spec), self._docs.field(spec))
            for spec in message.fields
            if spec.name not in skip
        }
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        return _described(schema, self._docs.of(message))

    def field(self, spec: FieldDescriptor) -> Schema:
        """The field's value, without its description."""
        entry = spec.message_type
        if entry is not None and entry.GetOptions().map_entry:
            schema = {"type": "object", "additionalProperties": self._one(entry.fields[1])}
            key = entry.fields[0]
            if key.type in _RANGES:
                schema["propertyNames"] = {"pattern": _decimal(*_RANGES[key.type])}
            elif key.type == _T.TYPE_BOOL:
                schema["propertyNames"] = {"enum": ["true", "false"]}
            return schema
        one = self._one(spec)
        return {"type": "array", "items": one} if spec.is_repeated else one

    def _one(self, spec: FieldDescriptor) -> Schema:
        if spec.message_type is not None:
            return self.ref(spec.message_type)
        return _scalar(spec, query=False)
