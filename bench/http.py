"""A bare HTTP/1.1 keep-alive JSON client for the benchmarks.

It costs a few tens of microseconds per request, where httpx costs milliseconds of CPU on a
small machine: with it, the figures measure the gateway rather than the load generator (the
issue's "compiled load generator" point, kept in Python so that POST and email timings share
one clock).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HttpError(Exception):
    pass


class ServerClosed(Exception):
    """The server closed a kept connection before answering."""


class JsonPoster:
    """POSTs JSON over up to `size` persistent connections to one host."""

    def __init__(self, host: str, port: int, size: int, timeout: float) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._slots = asyncio.Semaphore(size)
        self._open: list[asyncio.StreamWriter] = []

    async def post(self, path: str, document: Any) -> bytes:
        """The response body of a 200; raises HttpError for any other status. A kept
        connection the server closed meanwhile (idle timeout) is replaced once."""
        async with self._slots:
            reused = not self._idle.empty()
            connection = await self._connection()
            try:
                status, body = await self._exchange(*connection, path, document)
            except (ConnectionError, asyncio.IncompleteReadError, ServerClosed):
                connection[1].close()
                if not reused:
                    raise
                connection = await self._connection()
                status, body = await self._exchange(*connection, path, document)
            self._idle.put_nowait(connection)
        if status != 200:
            raise HttpError(f"POST {path}: {status} {body[:200]!r}")
        return body

    async def close(self) -> None:
        for writer in self._open:
            writer.close()

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not self._idle.empty():
            return self._idle.get_nowait()
        reader, writer = await asyncio.open_connection(self._host, self._port)
        self._open.append(writer)
        return reader, writer

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        path: str,
        document: Any,
    ) -> tuple[int, bytes]:
        body = json.dumps(document).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status_line = await asyncio.wait_for(reader.readline(), self._timeout)
        if not status_line:
            raise ServerClosed
        status = int(status_line.split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await reader.readexactly(length)
