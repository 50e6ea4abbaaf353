"""Lines packed into UDP datagrams under a byte limit, never split."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True, slots=True)
class Packed:
    """The datagrams of one send, and the lines left out because they were too long."""

    datagrams: tuple[bytes, ...]
    lines: int  # lines packed (an item of several lines counts each)
    too_long: int  # items longer than the limit on their own


def pack(items: Iterable[str], limit: int) -> Packed:
    """Join ``items`` with newlines into datagrams of at most ``limit`` bytes.

    An item (one line, or lines that must arrive together) is never split
    across datagrams; one longer than ``limit`` is dropped and counted.
    """
    datagrams: list[bytes] = []
    current: list[bytes] = []
    size = 0
    lines = too_long = 0
    for item in items:
        data = item.encode("utf-8")
        if len(data) > limit:
            too_long += 1
            continue
        needed = len(data) + (1 if current else 0)
        if size + needed > limit:
            datagrams.append(b"\n".join(current))
            current, size, needed = [], 0, len(data)
        current.append(data)
        size += needed
        lines += item.count("\n") + 1
    if current:
        datagrams.append(b"\n".join(current))
    return Packed(tuple(datagrams), lines, too_long)
