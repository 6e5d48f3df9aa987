from __future__ import annotations

import dataclasses
import json

import pytest

from joist.v1 import notifications_pb2, records_pb2
from services.gateway.routes import Router, routes_of
from services.gateway.transcode import BadInput, build_request, render_response

ROUTER = Router(
    route
    for module, name in (
        (records_pb2, "RecordsService"),
        (notifications_pb2, "NotificationsService"),
    )
    for route in routes_of(module.DESCRIPTOR.services_by_name[name])
)


def _build(method: str, path: str, query=(), body: bytes = b""):
    route, values = ROUTER.match(method, path)
    request_class = {
        "CreateRecord": records_pb2.CreateRecordRequest,
        "ListRecords": records_pb2.ListRecordsRequest,
        "GetRecord": records_pb2.GetRecordRequest,
        "ListNotifications": notifications_pb2.ListNotificationsRequest,
        "GetNotification": notifications_pb2.GetNotificationRequest,
    }[route.method.name]
    return route, build_request(route, request_class, values, list(query), body)


def test_body_field_path_and_query_are_combined():
    _, message = _build(
        "POST",
        "/v1/collections/posts/records",
        [("request_id", "r-1")],
        b'{"title": "Hi", "views": 3}',
    )
    assert message.collection == "posts"
    assert message.request_id == "r-1"
    assert dict(message.data) == {"title": "Hi", "views": 3.0}


def test_query_accepts_both_spellings_and_converts_types():
    _, message = _build(
        "GET", "/v1/collections/posts/records", [("pageSize", "10"), ("page_token", "abc")]
    )
    assert message.page_size == 10 and message.page_token == "abc"


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "field"),
    [
        ("POST", "/v1/collections/p/records", [], b"{", ""),
        ("POST", "/v1/collections/p/records", [], b'"text"', ""),
        ("GET", "/v1/collections/p/records", [("page_size", "x")], b"", "page_size"),
        (
            "GET",
            "/v1/collections/p/records",
            [("page_size", "1"), ("page_size", "2")],
            b"",
            "page_size",
        ),
        ("GET", "/v1/collections/p/records", [("page_size", str(2**40))], b"", "page_size"),
        ("GET", "/v1/collections/p/records", [("unknown", "1")], b"", "unknown"),
        ("GET", "/v1/collections/p/records", [("collection", "other")], b"", "collection"),
        ("GET", "/v1/collections/p/records", [], b'{"a": 1}', ""),
        ("POST", "/v1/collections/p/records", [("data.x", "1")], b"{}", "data.x"),
        ("POST", "/v1/collections/p/records", [], b"\xff\xfe", ""),
    ],
)
def test_bad_input_names_the_field(method, path, query, body, field):
    with pytest.raises(BadInput) as raised:
        _build(method, path, query, body)
    assert raised.value.field == field


def test_response_is_lower_camel_case_with_zero_values():
    route, _ = ROUTER.match("GET", "/v1/notifications")
    response = notifications_pb2.ListNotificationsResponse(
        notifications=[notifications_pb2.Notification(id="n1", state=2, event_subject="r1")]
    )
    document = json.loads(render_response(route, response))
    notification = document["notifications"][0]
    assert notification["state"] == "SENT"
    assert notification["eventSubject"] == "r1"
    assert notification["attempts"] == 0
    assert document["nextPageToken"] == ""


def test_response_body_may_be_any_field():
    route, _ = ROUTER.match("GET", "/v1/notifications")
    partial = dataclasses.replace(route, response_body="next_page_token")
    response = notifications_pb2.ListNotificationsResponse(next_page_token="t1")
    assert json.loads(render_response(partial, response)) == "t1"
    listed = dataclasses.replace(route, response_body="notifications")
    assert json.loads(render_response(listed, response)) == []


def test_path_values_are_decoded_once():
    _, values = ROUTER.match("GET", "/v1/collections/posts/records/a%2541")
    assert values["id"] == "a%41"
