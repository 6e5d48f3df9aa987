"""The error hierarchy every service raises, and its one mapping to gRPC status.

    JoistError                      INTERNAL
    ├── InvalidArgument             INVALID_ARGUMENT (+ google.rpc.BadRequest field violations)
    ├── NotFound                    NOT_FOUND
    ├── AlreadyExists               ALREADY_EXISTS
    ├── FailedPrecondition          FAILED_PRECONDITION
    ├── Aborted                     ABORTED
    ├── Unavailable                 UNAVAILABLE
    ├── Unauthenticated             UNAUTHENTICATED (+ `www-authenticate: Bearer`)
    ├── PermissionDenied            PERMISSION_DENIED
    └── ResourceExhausted           RESOURCE_EXHAUSTED (+ `retry-after: <seconds>` when known)

`to_rpc_status` turns one into the `grpc.Status` (code, message, `google.rpc.Status` details and
the error's own trailers in trailing metadata) that `server.StatusInterceptor` aborts the call
with. The gateway sends `www-authenticate` and `retry-after` trailers on as HTTP headers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


class JoistError(Exception):
    code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> list[any_pb2.Any]:
        return []

    def trailers(self) -> tuple[tuple[str, str], ...]:
        """Trailing metadata sent besides the status."""
        return ()


class InvalidArgument(JoistError):
    """Bad input; `violations` maps field paths to what is wrong with each."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str, violations: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.violations = list(violations)

    @classmethod
    def field(cls, name: str, problem: str) -> InvalidArgument:
        return cls(f"{name}: {problem}", [(name, problem)])

    def details(self) -> list[any_pb2.Any]:
        if not self.violations:
            return []
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                for f, d in self.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        return [packed]


class NotFound(JoistError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(JoistError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(JoistError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(JoistError):
    code = grpc.StatusCode.ABORTED


class Unavailable(JoistError):
    code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(JoistError):
    """No valid credentials: a missing, malformed, expired or forged token, or a gone account."""

    code = grpc.StatusCode.UNAUTHENTICATED

    def trailers(self) -> tuple[tuple[str, str], ...]:
        return (("www-authenticate", "Bearer"),)  # what an HTTP 401 must name (RFC 9110)


class PermissionDenied(JoistError):
    """The caller is known but may not do this."""

    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(JoistError):
    """Too many requests; `retry_after` seconds, when known, travel as `retry-after` (whole
    seconds, rounded up, at least 1)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def trailers(self) -> tuple[tuple[str, str], ...]:
        if self.retry_after is None:
            return ()
        return (("retry-after", str(max(1, math.ceil(self.retry_after)))),)


@dataclass(frozen=True)
class _Status(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def to_rpc_status(error: JoistError) -> grpc.Status:
    status = rpc_status.to_status(
        status_pb2.Status(
            code=getattr(code_pb2, error.code.name),
            message=error.message,
            details=error.details(),
        )
    )
    return _Status(status.code, status.details, (*status.trailing_metadata, *error.trailers()))
