"""The compiled renderer writes what json_format writes (always printing fields without
presence), for messages of every type of joist.v1 and of the test-only echo proto with random
fields set; the one difference is deliberate: an integral google.protobuf.Value number within
±2^53 is a JSON integer."""

from __future__ import annotations

import math
import operator
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf import json_format, message_factory, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joist.v1 import auth_pb2, collections_pb2, jobs_pb2, notifications_pb2, records_pb2
from services.gateway.render import to_document
from tests.gateway.filled import fill, message_types

JOIST_TYPES = [
    descriptor
    for module in (auth_pb2, collections_pb2, jobs_pb2, notifications_pb2, records_pb2)
    for descriptor in message_types(module.DESCRIPTOR)
]


def _json_format(message: Any) -> Any:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def assert_same(ours: Any, theirs: Any, where: str = "") -> None:
    """Equal, types too (3 is not 3.0, True is not 1), but for an integer where json_format
    has the same integral float within ±2^53: a Value number (doubles stay floats)."""
    if isinstance(theirs, float) and type(ours) is int:
        assert ours == theirs and abs(ours) <= 2**53, where
        return
    assert type(ours) is type(theirs), f"{where}: {ours!r} vs {theirs!r}"
    if isinstance(theirs, dict):
        assert list(ours) == sorted(ours, key=list(ours).index)  # no duplicates, any order
        assert set(ours) == set(theirs), f"{where}: {set(ours) ^ set(theirs)}"
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for index, (one, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(one, other, f"{where}[{index}]")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert math.isnan(ours), where
    else:
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


def _check(descriptor: Descriptor, data: st.DataObject) -> None:
    message = message_factory.GetMessageClass(descriptor)()
    fill(data.draw, message)
    assert_same(to_document(message), _json_format(message), descriptor.name)


@pytest.mark.parametrize("descriptor", JOIST_TYPES, ids=lambda descriptor: descriptor.full_name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_joist_message_renders_as_json_format_does(
    descriptor: Descriptor, data: st.DataObject
):
    _check(descriptor, data)


@pytest.mark.parametrize("name", ["Sample", "UpdateSampleRequest", "WatchRequest", "Kinds"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_kind_of_field_renders_as_json_format_does(
    echo: SimpleNamespace, name: str, data: st.DataObject
):
    _check(echo.pb2.DESCRIPTOR.message_types_by_name[name], data)


def test_every_echo_message_type_is_covered(echo: SimpleNamespace):
    assert {d.name for d in message_types(echo.pb2.DESCRIPTOR)} >= {"Sample", "Kinds", "Inner"}
    for descriptor in message_types(echo.pb2.DESCRIPTOR):
        empty = message_factory.GetMessageClass(descriptor)()
        assert_same(to_document(empty), _json_format(empty), descriptor.name)


def test_integral_value_numbers_are_integers_and_doubles_stay_floats(echo: SimpleNamespace):
    sample = echo.pb2.Sample(ratio=3.0)
    sample.attributes.update({"n": 3, "big": 2.0**53, "bigger": 2.0**53 + 2, "x": 0.5})
    sample.extra.number_value = -7
    document = to_document(sample)
    assert document["ratio"] == 3.0 and type(document["ratio"]) is float
    assert document["extra"] == -7 and type(document["extra"]) is int
    assert [type(document["attributes"][key]) for key in ("n", "big", "bigger", "x")] == [
        int,
        int,
        float,
        float,
    ]


def test_keys_follow_the_field_numbers(echo: SimpleNamespace):
    sample = echo.pb2.Sample(display_name="Ann", text="hi", id="1", limit=0)
    names = list(to_document(sample))
    numbers = [echo.pb2.Sample.DESCRIPTOR.fields_by_camelcase_name[n].number for n in names]
    assert numbers == sorted(numbers)


def test_map_and_struct_entries_come_sorted_by_key(echo: SimpleNamespace):
    """A map's order on the wire is undefined and changes from one process to the next: the
    same message must still be the same text."""
    keys = ["name", "email", "message", "b", "a"]
    for order in (keys, list(reversed(keys))):
        sample = echo.pb2.Sample()
        for key in order:
            sample.scores[key] = len(key)
            sample.headers[key] = key
        data = struct_pb2.Struct()
        data.update({key: key for key in order})
        document = to_document(sample)
        assert list(document["scores"]) == list(document["headers"]) == sorted(keys)
        assert list(to_document(data)) == sorted(keys)


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_value_that_json_cannot_hold_fails_as_with_json_format(number: float):
    record = records_pb2.Record()
    record.data.fields["x"].number_value = number
    with pytest.raises(json_format.SerializeToJsonError):
        _json_format(record)
    with pytest.raises(json_format.SerializeToJsonError):
        to_document(record)


@pytest.mark.parametrize(("seconds", "nanos"), [(253402300800, 0), (0, -1), (0, 10**9)])
def test_an_invalid_timestamp_fails_as_with_json_format(seconds: int, nanos: int):
    record = records_pb2.Record(create_time=timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos))
    with pytest.raises(ValueError, match="Timestamp"):
        to_document(record)
    with pytest.raises(json_format.SerializeToJsonError, match="Timestamp"):
        _json_format(record)


def test_a_struct_renders_at_the_top_too():
    struct = struct_pb2.Struct()
    struct.update({"a": [1, 1.5, None, {"b": True}]})
    assert to_document(struct) == {"a": [1, 1.5, None, {"b": True}]}


# --- elements of repeated fields, rendered once per content ---------------------------------


def _page(*names: str) -> records_pb2.ListRecordsResponse:
    """A page as the gateway receives it: parsed from the wire."""
    page = records_pb2.ListRecordsResponse(next_page_token="next")
    for name in names:
        record = page.records.add(id=f"id-{name}", collection="people", etag="1")
        record.data.update({"name": name, "age": 7})
    return records_pb2.ListRecordsResponse.FromString(page.SerializeToString())


def test_a_record_listed_again_is_rendered_once_per_content():
    first = to_document(_page("ann", "bob"))
    assert [record["data"] for record in first["records"]] == [
        {"age": 7, "name": "ann"},
        {"age": 7, "name": "bob"},
    ]
    again = to_document(_page("ann", "bob"))
    assert again == first
    assert all(map(operator.is_, again["records"], first["records"]))  # kept, not rendered
    changed = _page("ann", "bob")
    changed.records[1].data["age"] = 8  # the same record, changed: rendered anew
    document = to_document(changed)
    assert document["records"][0] is first["records"][0]
    assert document["records"][1]["data"] == {"age": 8, "name": "bob"}
    assert to_document(_page("ann", "bob"))["records"][1]["data"] == {"age": 7, "name": "bob"}


def test_messages_of_two_types_with_the_same_bytes_keep_their_own_documents():
    records = records_pb2.ListRecordsResponse()
    records.records.add(id="same")
    collections = collections_pb2.ListCollectionsResponse()
    collections.collections.add(name="same")
    assert records.records[0].SerializeToString() == collections.collections[0].SerializeToString()
    assert to_document(records)["records"][0]["id"] == "same"
    assert to_document(collections)["collections"][0]["name"] == "same"
    assert "id" not in to_document(collections)["collections"][0]


def test_an_element_that_cannot_be_rendered_fails_every_time():
    page = records_pb2.ListRecordsResponse()
    page.records.add(id="bad").data.fields["x"].number_value = math.nan
    for _ in range(2):  # nothing was kept the first time
        with pytest.raises(json_format.SerializeToJsonError):
            to_document(page)
