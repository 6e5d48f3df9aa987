"""The JSON documents of messages already rendered, by type and serialized bytes.

A message's proto3 JSON depends only on its type and its bytes, so `render` keeps the documents
of the elements of repeated message fields (the records of a page, listed again and again) and
looks them up by `(descriptor, message.SerializeToString())`. Serializing is protobuf's C code,
about a tenth of rendering. The documents are shared between responses: they are encoded, never
changed.

Bounded twice: at most `most` documents, and at most `most_bytes` of serialized messages in the
keys (a document takes about as much again as its bytes, a few times more for short values);
the oldest go first. A message bigger than `largest` is rendered each time, so that one huge
record cannot push out every other. Look-ups are counted (`hits`, `misses`) for the gateway's
metrics. Used from the event loop only.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from google.protobuf.descriptor import Descriptor

Key = tuple[Descriptor, bytes]


class KeptDocuments:
    """Documents by `(descriptor, serialized bytes)`, bounded by count and bytes."""

    def __init__(self, most: int, most_bytes: int, largest: int) -> None:
        self._most = most
        self._most_bytes = most_bytes
        self._largest = largest
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        # an OrderedDict drops its oldest in constant time (a dict popped from the front again
        # and again scans the holes left there: ~10x slower at a few thousand entries)
        self._documents: OrderedDict[Key, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    @property
    def size_bytes(self) -> int:
        """The serialized bytes of the messages whose documents are kept."""
        return self._bytes

    def get(self, key: Key) -> Any:
        """The document kept for `key`, or None."""
        found = self._documents.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def keep(self, key: Key, document: Any) -> None:
        """Keeps `document` (a key longer than `largest` is not kept)."""
        size = len(key[1])
        if size > self._largest or key in self._documents:
            return
        self._documents[key] = document
        self._bytes += size
        while len(self._documents) > self._most or self._bytes > self._most_bytes:
            (_, dropped), _ = self._documents.popitem(last=False)
            self._bytes -= len(dropped)
