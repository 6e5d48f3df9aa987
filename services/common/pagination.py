"""Opaque page tokens (AIP-158) for keyset pagination, and page-size limits.

A token carries the sort key of the last item of a page and the fingerprint of the query that
produced it, base64url-encoded. A token that does not decode, or that came from another query,
is INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from services.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode_token(last_key: str, query: str = "") -> str:
    body = json.dumps({"after": last_key, "q": _fingerprint(query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_token(token: str, query: str = "") -> str | None:
    """The key to continue after, or None for the first page."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
        after, fingerprint = body["after"], body["q"]
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise InvalidArgument.field("page_token", "is not a token this API returned") from exc
    if not isinstance(after, str) or fingerprint != _fingerprint(query):
        raise InvalidArgument.field("page_token", "belongs to a different query")
    return after
