"""KeptDocuments: bounded by count and by bytes, the oldest dropped first, big messages not
kept."""

from __future__ import annotations

from joist.v1 import collections_pb2, records_pb2
from services.gateway.kept import KeptDocuments

RECORD = records_pb2.Record.DESCRIPTOR
COLLECTION = collections_pb2.Collection.DESCRIPTOR


def test_a_document_is_kept_by_type_and_bytes():
    kept = KeptDocuments(most=10, most_bytes=1000, largest=100)
    kept.keep((RECORD, b"a"), {"id": "a"})
    assert kept.get((RECORD, b"a")) == {"id": "a"}
    assert kept.get((COLLECTION, b"a")) is None
    assert kept.get((RECORD, b"b")) is None


def test_the_oldest_go_first_when_too_many():
    kept = KeptDocuments(most=2, most_bytes=1000, largest=100)
    for name in (b"a", b"b", b"c"):
        kept.keep((RECORD, name), name.decode())
    assert len(kept) == 2
    assert [kept.get((RECORD, name)) for name in (b"a", b"b", b"c")] == [None, "b", "c"]


def test_the_oldest_go_first_when_too_many_bytes():
    kept = KeptDocuments(most=100, most_bytes=10, largest=10)
    kept.keep((RECORD, b"1234"), 1)
    kept.keep((RECORD, b"5678"), 2)
    assert kept.size_bytes == 8
    kept.keep((RECORD, b"abcdef"), 3)  # 14 bytes: the oldest makes room
    assert kept.get((RECORD, b"1234")) is None
    assert kept.get((RECORD, b"5678")) == 2
    assert kept.get((RECORD, b"abcdef")) == 3
    assert kept.size_bytes == 10


def test_a_message_bigger_than_the_largest_is_not_kept():
    kept = KeptDocuments(most=100, most_bytes=1000, largest=4)
    kept.keep((RECORD, b"small"), 1)
    kept.keep((RECORD, b"tiny"), 2)
    assert kept.get((RECORD, b"small")) is None
    assert kept.get((RECORD, b"tiny")) == 2
    assert len(kept) == 1


def test_keeping_a_key_again_counts_its_bytes_once():
    kept = KeptDocuments(most=100, most_bytes=1000, largest=100)
    kept.keep((RECORD, b"abc"), 1)
    kept.keep((RECORD, b"abc"), 1)
    assert kept.size_bytes == 3
    assert len(kept) == 1
