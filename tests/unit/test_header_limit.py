"""The whole-header-block bound in front of aiohttp's parser."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from enricher.exporters import web


class _Inner:
    """Records what reaches aiohttp's handler."""

    def __init__(self) -> None:
        self.data: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data.append(data)


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def _limit() -> tuple[web._HeaderLimit, _Inner, _Transport, web.ConnectionStats]:
    inner, transport, stats = _Inner(), _Transport(), web.ConnectionStats()
    limit = web._HeaderLimit(inner, stats)  # type: ignore[arg-type]
    limit.connection_made(transport)
    return limit, inner, transport, stats


def test_a_block_over_the_limit_gets_431_and_nothing_more_is_parsed() -> None:
    limit, inner, transport, stats = _limit()
    line = b"X-A: " + b"a" * 1000 + b"\r\n"
    fed = 0
    while not transport.closed:
        limit.data_received(line)
        fed += len(line)
    assert web.MAX_HEADER_BYTES < fed <= web.MAX_HEADER_BYTES + len(line)
    assert transport.written.startswith(b"HTTP/1.1 431 ")
    assert stats.oversized == 1
    passed = len(inner.data)
    limit.data_received(line)
    assert len(inner.data) == passed


@pytest.mark.parametrize("split", [1, 2, 3])
def test_an_end_of_headers_split_across_reads_resets_the_count(split: int) -> None:
    limit, inner, transport, _stats = _limit()
    block = b"GET / HTTP/1.1\r\n" + b"X: " + b"x" * (web.MAX_HEADER_BYTES - 40) + b"\r\n\r\n"
    for _ in range(5):  # keep-alive: request after request, each just under the limit
        limit.data_received(block[:-split])
        limit.data_received(block[-split:])
    assert not transport.closed
    assert b"".join(inner.data) == block * 5


def test_pipelined_requests_count_from_the_last_end() -> None:
    limit, _inner, transport, _stats = _limit()
    small = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    limit.data_received(small * 100)  # 2.8 KB in one read, many blocks
    limit.data_received(b"X: " + b"y" * (web.MAX_HEADER_BYTES - 10))
    assert not transport.closed
    limit.data_received(b"z" * 20)
    assert transport.closed
