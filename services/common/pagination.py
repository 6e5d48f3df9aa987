"""Page sizes and tamper-evident page tokens (AIP-158) for keyset pagination.

A token carries the sort-key values of the last row of a page (JSON typed by each key's kind:
timestamps round-trip to the microsecond, ints stay ints, NULL stays None), a fingerprint of
the query that produced it (the caller's `query` text plus the sort keys), and an HMAC-SHA256
over both, base64url-encoded. A token that was altered in any way, or was signed with another
key, is INVALID_ARGUMENT "is not a token this API returned"; a genuine token presented with
another query is INVALID_ARGUMENT "belongs to a different query".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.common.errors import InvalidArgument
from services.common.filtering import ValueKind
from services.common.ordering import SortKey

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_MAC_SIZE = 16
_FINGERPRINT_SIZE = 8
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*\Z")


def page_size(requested: int) -> int:
    """The page size to use for a request's `page_size` (0 means the default)."""
    if requested < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _fingerprint(keys: Sequence[SortKey], query: str) -> bytes:
    order = [[key.name, key.kind.value, key.descending] for key in keys]
    text = json.dumps([query, order], separators=(",", ":"))
    return hashlib.sha256(text.encode()).digest()[:_FINGERPRINT_SIZE]


def _to_json(key: SortKey, value: Any) -> Any:
    if value is not None and key.kind is ValueKind.TIMESTAMP:
        return value.isoformat()
    return value


def _from_json(key: SortKey, value: Any) -> Any:
    """The key value `value` stands for; ValueError when it cannot be one of `key`'s."""
    if value is None:
        return None
    kind = key.kind
    if kind is ValueKind.TIMESTAMP and isinstance(value, str):
        return datetime.fromisoformat(value)
    fits = {
        ValueKind.STRING: isinstance(value, str),
        ValueKind.INTEGER: isinstance(value, int) and not isinstance(value, bool),
        ValueKind.NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
        ValueKind.BOOL: isinstance(value, bool),
        ValueKind.ENUM: isinstance(value, str | int | float | bool),
    }
    if not fits.get(kind, False):
        raise ValueError(f"{value!r} is not a {kind.value}")
    return value


def _unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class PageTokens:
    """Signs and checks page tokens with `key` (see `services.common.keys.stored_key`)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page token key needs at least 16 bytes")
        self._key = key

    def _mac(self, signed: bytes) -> bytes:
        return hmac.new(self._key, signed, hashlib.sha256).digest()[:_MAC_SIZE]

    def encode(self, keys: Sequence[SortKey], values: Sequence[Any], query: str) -> str:
        """The token to continue after the row whose key values are `values`."""
        if len(keys) != len(values):
            raise ValueError("a page token needs one value for each sort key")
        payload = [_to_json(key, value) for key, value in zip(keys, values, strict=True)]
        signed = _fingerprint(keys, query) + json.dumps(payload, separators=(",", ":")).encode()
        return _unpadded(self._mac(signed) + signed)

    def decode(self, token: str, keys: Sequence[SortKey], query: str) -> list[Any] | None:
        """The key values to continue after, or None for "" (the first page)."""
        if not token:
            return None
        forged = InvalidArgument.field("page_token", "is not a token this API returned")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise forged from None
        # Only the canonical spelling: unused low bits of the last character must be zero.
        if not _BASE64URL.match(token) or _unpadded(raw) != token:
            raise forged
        mac, signed = raw[:_MAC_SIZE], raw[_MAC_SIZE:]
        if len(signed) < _FINGERPRINT_SIZE or not hmac.compare_digest(mac, self._mac(signed)):
            raise forged
        if signed[:_FINGERPRINT_SIZE] != _fingerprint(keys, query):
            raise InvalidArgument.field("page_token", "belongs to a different query")
        try:
            payload = json.loads(signed[_FINGERPRINT_SIZE:])
            if not isinstance(payload, list) or len(payload) != len(keys):
                raise ValueError("one value per sort key expected")
            return [_from_json(key, value) for key, value in zip(keys, payload, strict=True)]
        except ValueError:  # signed by us, so only if the server changed its types
            raise forged from None
