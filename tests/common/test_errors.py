"""The one mapping of JoistError to gRPC status: code, google.rpc.Status details, trailers."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from services.common.errors import (
    InvalidArgument,
    JoistError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    to_rpc_status,
)


def trailers(error: JoistError) -> dict[str, str | bytes]:
    return dict(to_rpc_status(error).trailing_metadata)


def rich_status(error: JoistError) -> status_pb2.Status:
    return status_pb2.Status.FromString(trailers(error)["grpc-status-details-bin"])


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotFound("no such job"), grpc.StatusCode.NOT_FOUND),
        (Unauthenticated("sign in"), grpc.StatusCode.UNAUTHENTICATED),
        (PermissionDenied("admins only"), grpc.StatusCode.PERMISSION_DENIED),
        (ResourceExhausted("slow down"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
)
def test_code_and_message_travel_as_status_and_google_rpc_status(error: JoistError, code):
    status = to_rpc_status(error)
    assert (status.code, status.details) == (code, error.message)
    assert rich_status(error).code == code.value[0]
    assert rich_status(error).message == error.message


@pytest.mark.parametrize(("seconds", "header"), [(2.1, "3"), (30, "30"), (0.2, "1"), (0, "1")])
def test_resource_exhausted_sends_retry_after_in_whole_seconds(seconds: float, header: str):
    assert trailers(ResourceExhausted("slow down", retry_after=seconds))["retry-after"] == header


def test_retry_after_only_when_known():
    assert "retry-after" not in trailers(ResourceExhausted("slow down"))


def test_unauthenticated_names_the_scheme():
    assert trailers(Unauthenticated("sign in"))["www-authenticate"] == "Bearer"
    assert "www-authenticate" not in trailers(PermissionDenied("admins only"))


def test_invalid_argument_keeps_its_field_violations():
    detail = rich_status(InvalidArgument.field("email", "is required")).details[0]
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("email", "is required")
    ]
