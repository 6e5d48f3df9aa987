"""Error responses in the `google.rpc.Status` JSON shape, with grpc-gateway's HTTP statuses.

{"code": 3, "message": "email: is not a valid email address", "details": [...]}
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2  # noqa: F401  (registers detail types)

HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

_DETAILS_KEY = "grpc-status-details-bin"


def status_body(
    code: grpc.StatusCode, message: str, violations: list[tuple[str, str]] = ()
) -> bytes:
    """A Status JSON body made by the gateway itself."""
    details: list[dict[str, Any]] = []
    if violations:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": f, "description": d} for f, d in violations],
            }
        )
    document = {"code": code.value[0], "message": message, "details": details}
    return json.dumps(document, ensure_ascii=False).encode()


def from_rpc_error(error: grpc.aio.AioRpcError) -> tuple[int, bytes]:
    """HTTP status and Status JSON body for a failed upstream call, details included."""
    code = error.code()
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            document = json_format.MessageToDict(status)
            document.setdefault("details", [])
            return HTTP_STATUS.get(code, 500), json.dumps(document, ensure_ascii=False).encode()
    message = error.details() or code.name.lower().replace("_", " ")
    if code == grpc.StatusCode.UNAVAILABLE:
        message = f"upstream service unavailable: {message}"
    return HTTP_STATUS.get(code, 500), status_body(code, message)
