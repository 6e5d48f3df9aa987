"""The error hierarchy every service raises, and its one mapping to gRPC status.

    JoistError                      INTERNAL
    ├── InvalidArgument             INVALID_ARGUMENT (+ google.rpc.BadRequest field violations)
    ├── NotFound                    NOT_FOUND
    ├── AlreadyExists               ALREADY_EXISTS
    ├── FailedPrecondition          FAILED_PRECONDITION
    ├── Aborted                     ABORTED
    └── Unavailable                 UNAVAILABLE

`to_rpc_status` turns one into the `grpc.Status` (code, message and `google.rpc.Status` details
in trailing metadata) that `server.StatusInterceptor` aborts the call with.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def to_rpc_status(error: JoistError) -> grpc.Status:
    status = status_pb2.Status(
        code=getattr(code_pb2, error.code.name),
        message=error.message,
        details=error.details(),
    )
    return rpc_status.to_status(status)
