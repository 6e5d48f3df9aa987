"""HTTP headers ⇄ gRPC metadata.

In: `Authorization` is forwarded as is (visible ASCII only, else 401); `X-Request-Id` is kept
when it is a short token of safe characters, else replaced by a fresh one, and forwarded as
`x-request-id`; `Grpc-Timeout` (gRPC's own format: `5S`, `200m`, `1H`) shortens the call's
deadline. Out: response metadata (initial and trailing) becomes headers — under its own name
when it is a standard HTTP response header (a `retry-after` trailer is `Retry-After`), as
`Grpc-Metadata-<key>` otherwise, binary values in base64.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

import uuid_utils

from services.gateway.params import BadInput

Header = tuple[bytes, bytes]

_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_VISIBLE_ASCII = re.compile(rb"[\x20-\x7e]{1,8192}")
_TIMEOUT = re.compile(rb"([0-9]{1,8})([HMSmun])")
_TIMEOUT_UNITS = {b"H": 3600.0, b"M": 60.0, b"S": 1.0, b"m": 1e-3, b"u": 1e-6, b"n": 1e-9}
_STANDARD = frozenset(
    {
        "cache-control",
        "content-language",
        "etag",
        "expires",
        "last-modified",
        "link",
        "location",
        "retry-after",
        "www-authenticate",
    }
)


def request_id(given: bytes | None) -> str:
    """The client's request id when it is safe to log and forward, else a new one."""
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given.decode()
    return uuid_utils.uuid4().hex


def authorization(value: bytes) -> str | None:
    """The Authorization header as metadata, or None when it is not visible ASCII."""
    return value.decode() if _VISIBLE_ASCII.fullmatch(value) else None


def grpc_timeout(value: bytes) -> float:
    """Seconds of a `Grpc-Timeout` header; BadInput naming the header when malformed."""
    found = _TIMEOUT.fullmatch(value)
    if found is None:
        raise BadInput(
            "Grpc-Timeout", "expected up to 8 digits and a unit (H, M, S, m, u, n), e.g. 5S"
        )
    return int(found.group(1)) * _TIMEOUT_UNITS[found.group(2)]


def metadata_headers(metadata: Iterable[tuple[str, str | bytes]] | None) -> list[Header]:
    """Response headers for gRPC response metadata (gRPC's own `grpc-*` keys left out)."""
    headers = []
    for key, value in metadata or ():
        if key.startswith("grpc-"):
            continue
        if isinstance(value, bytes):  # a "-bin" key
            value = base64.b64encode(value).decode()
        name = key if key in _STANDARD else "grpc-metadata-" + key
        headers.append((name.encode(), value.encode()))
    return headers
