"""Checks of setting values, each returning what is wrong (or None), and the parsers of the
settings that are written as text: durations ("30s", "5m") and comma-separated lists."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], str | None]


def positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def non_empty(value: str) -> str | None:
    return None if value else "must not be empty"


def one_of(*choices: Any) -> Check:
    def check(value: Any) -> str | None:
        shown = ", ".join(repr(c) for c in choices)
        return None if value in choices else f"must be one of {shown}"

    return check


def address(value: str) -> str | None:
    host, _, port = value.rpartition(":")
    if host and port.isdigit() and 0 < int(port) < 65536:
        return None
    return "must be HOST:PORT with a port from 1 to 65535"


def url_scheme(*schemes: str) -> Check:
    def check(value: str) -> str | None:
        if value.split("://", 1)[0] in schemes and "://" in value:
            return None
        return f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"

    return check


_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int:
    """Parses "30s", "5m", "1h" or "1d" into seconds; raises ValueError otherwise."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 1d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def duration(value: str) -> str | None:
    try:
        duration_seconds(value)
    except ValueError as exc:
        return str(exc)
    return None


def origins(value: str) -> str | None:
    """Comma-separated web origins (`https://app.example.com`), `*` for any, or empty."""
    for origin in split_list(value):
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            return f"{origin!r} is not an origin like https://app.example.com (no path)"
    return None


def networks(value: str) -> str | None:
    """Comma-separated IP addresses or CIDR networks, or `*` for any."""
    for item in split_list(value):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return f"{item!r} is not an IP address or network"
    return None


def split_list(value: str) -> list[str]:
    """The items of a comma-separated setting, blanks dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


def clock_time(value: str) -> str | None:
    if value == "" or re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return None
    return "must be HH:MM (24-hour) or empty"
