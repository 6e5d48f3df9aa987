import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Collection(_message.Message):
    __slots__ = ("name", "fields", "indexes", "rules", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    INDEXES_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    fields: _containers.RepeatedCompositeFieldContainer[Field]
    indexes: _containers.RepeatedCompositeFieldContainer[Index]
    rules: Rules
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[Field, _Mapping]]] = ..., indexes: _Optional[_Iterable[_Union[Index, _Mapping]]] = ..., rules: _Optional[_Union[Rules, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ("name", "type", "required", "unique", "default", "max_length", "options", "relation", "id")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[Field.Type]
        TEXT: _ClassVar[Field.Type]
        INTEGER: _ClassVar[Field.Type]
        NUMBER: _ClassVar[Field.Type]
        BOOL: _ClassVar[Field.Type]
        DATETIME: _ClassVar[Field.Type]
        EMAIL: _ClassVar[Field.Type]
        URL: _ClassVar[Field.Type]
        SELECT: _ClassVar[Field.Type]
        JSON: _ClassVar[Field.Type]
        RELATION: _ClassVar[Field.Type]
    TYPE_UNSPECIFIED: Field.Type
    TEXT: Field.Type
    INTEGER: Field.Type
    NUMBER: Field.Type
    BOOL: Field.Type
    DATETIME: Field.Type
    EMAIL: Field.Type
    URL: Field.Type
    SELECT: Field.Type
    JSON: Field.Type
    RELATION: Field.Type
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: Field.Type
    required: bool
    unique: bool
    default: _struct_pb2.Value
    max_length: int
    options: _containers.RepeatedScalarFieldContainer[str]
    relation: str
    id: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[Field.Type, str]] = ..., required: _Optional[bool] = ..., unique: _Optional[bool] = ..., default: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., max_length: _Optional[int] = ..., options: _Optional[_Iterable[str]] = ..., relation: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class Index(_message.Message):
    __slots__ = ("fields", "unique")
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedScalarFieldContainer[str]
    unique: bool
    def __init__(self, fields: _Optional[_Iterable[str]] = ..., unique: _Optional[bool] = ...) -> None: ...

class Rules(_message.Message):
    __slots__ = ("list", "get", "create", "update", "delete")
    class Access(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ACCESS_UNSPECIFIED: _ClassVar[Rules.Access]
        PUBLIC: _ClassVar[Rules.Access]
        AUTHENTICATED: _ClassVar[Rules.Access]
        OWNER: _ClassVar[Rules.Access]
        ADMIN: _ClassVar[Rules.Access]
    ACCESS_UNSPECIFIED: Rules.Access
    PUBLIC: Rules.Access
    AUTHENTICATED: Rules.Access
    OWNER: Rules.Access
    ADMIN: Rules.Access
    LIST_FIELD_NUMBER: _ClassVar[int]
    GET_FIELD_NUMBER: _ClassVar[int]
    CREATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    list: Rules.Access
    get: Rules.Access
    create: Rules.Access
    update: Rules.Access
    delete: Rules.Access
    def __init__(self, list: _Optional[_Union[Rules.Access, str]] = ..., get: _Optional[_Union[Rules.Access, str]] = ..., create: _Optional[_Union[Rules.Access, str]] = ..., update: _Optional[_Union[Rules.Access, str]] = ..., delete: _Optional[_Union[Rules.Access, str]] = ...) -> None: ...

class CreateCollectionRequest(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: Collection
    def __init__(self, collection: _Optional[_Union[Collection, _Mapping]] = ...) -> None: ...

class GetCollectionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("collections", "next_page_token")
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[Collection]
    next_page_token: str
    def __init__(self, collections: _Optional[_Iterable[_Union[Collection, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateCollectionRequest(_message.Message):
    __slots__ = ("collection", "update_mask")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    collection: Collection
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, collection: _Optional[_Union[Collection, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteCollectionRequest(_message.Message):
    __slots__ = ("name", "etag", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...
