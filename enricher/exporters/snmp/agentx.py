"""The AgentX protocol (RFC 2741): PDU encoding and decoding, nothing else.

Only what a read-only subagent needs: it sends Open, Register, Notify,
Ping, Close and Response PDUs, and reads Get, GetNext, GetBulk, the Set
phases (answered notWritable), Close and Response PDUs. Pure functions of
bytes; the session lives in :mod:`enricher.exporters.snmp.agent`.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence

Oid = tuple[int, ...]

VERSION = 1
HEADER = 20  # bytes of every PDU header

# PDU types (RFC 2741 6.1).
OPEN, CLOSE, REGISTER, UNREGISTER = 1, 2, 3, 4
GET, GETNEXT, GETBULK = 5, 6, 7
TESTSET, COMMITSET, UNDOSET, CLEANUPSET = 8, 9, 10, 11
NOTIFY, PING = 12, 13
INDEX_ALLOCATE, INDEX_DEALLOCATE, ADD_AGENT_CAPS, REMOVE_AGENT_CAPS = 14, 15, 16, 17
RESPONSE = 18

# Header flags.
INSTANCE_REGISTRATION = 0x01
NON_DEFAULT_CONTEXT = 0x08
NETWORK_BYTE_ORDER = 0x10

# Varbind types (RFC 2741 5.4).
INTEGER = 2
OCTET_STRING = 4
NULL = 5
OBJECT_IDENTIFIER = 6
IP_ADDRESS = 64
COUNTER32 = 65
GAUGE32 = 66
TIME_TICKS = 67
OPAQUE = 68
COUNTER64 = 70
NO_SUCH_OBJECT = 128
NO_SUCH_INSTANCE = 129
END_OF_MIB_VIEW = 130

# Response errors (RFC 2741 6.2.16) and the SNMP one a Set gets.
NO_ERROR = 0
NOT_WRITABLE = 17
OPEN_FAILED = 256
NOT_OPEN = 257
DUPLICATE_REGISTRATION = 263
PARSE_ERROR = 266
PROCESSING_ERROR = 268

# Close reasons.
REASON_OTHER, REASON_PARSE_ERROR, REASON_PROTOCOL_ERROR = 1, 2, 3
REASON_TIMEOUTS, REASON_SHUTDOWN, REASON_BY_MANAGER = 4, 5, 6

INTERNET = (1, 3, 6, 1)
SYS_UPTIME_0 = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID_0 = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
_MAX_SUBIDS = 128  # RFC 2578: at most 128 sub-identifiers
_MAX_PAYLOAD = 1 << 20  # more than any sane request; a bigger one is a parse error


class ParseError(ValueError):
    """Bytes that are not a valid AgentX PDU."""


@dataclasses.dataclass(frozen=True, slots=True)
class Header:
    type: int
    flags: int
    session_id: int
    transaction_id: int
    packet_id: int
    length: int

    @property
    def order(self) -> str:
        return ">" if self.flags & NETWORK_BYTE_ORDER else "<"


@dataclasses.dataclass(frozen=True, slots=True)
class VarBind:
    """One variable binding: ``type`` is a varbind type above, ``value`` an int,
    bytes, an Oid or None (Null and the exceptions)."""

    oid: Oid
    type: int
    value: int | bytes | Oid | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SearchRange:
    start: Oid
    end: Oid  # () means no upper bound
    include: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """A Get, GetNext or GetBulk (or a Set phase, with no ranges) from the master."""

    header: Header
    ranges: tuple[SearchRange, ...] = ()
    non_repeaters: int = 0
    max_repetitions: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    header: Header
    uptime: int
    error: int
    index: int


# -- encoding ---------------------------------------------------------------------


def encode_oid(oid: Oid, include: bool = False) -> bytes:
    """An OID with the internet-prefix compression of RFC 2741 5.1."""
    prefix = 0
    subids: Sequence[int] = oid
    if len(oid) > 4 and oid[:4] == INTERNET and 0 < oid[4] < 256:
        prefix, subids = oid[4], oid[5:]
    if len(subids) > _MAX_SUBIDS:
        raise ValueError("OID of %d sub-identifiers" % len(oid))
    return (struct.pack(">BBBB", len(subids), prefix, 1 if include else 0, 0)
            + struct.pack(">%dI" % len(subids), *subids))


def encode_octets(data: bytes) -> bytes:
    pad = -len(data) % 4
    return struct.pack(">I", len(data)) + data + b"\0" * pad


def encode_varbind(vb: VarBind) -> bytes:
    head = struct.pack(">HH", vb.type, 0) + encode_oid(vb.oid)
    kind, value = vb.type, vb.value
    if kind == INTEGER:
        return head + struct.pack(">i", int(value))  # type: ignore[arg-type]
    if kind in (COUNTER32, GAUGE32, TIME_TICKS):
        return head + struct.pack(">I", int(value) & _U32)  # type: ignore[arg-type]
    if kind == COUNTER64:
        return head + struct.pack(">Q", int(value) & _U64)  # type: ignore[arg-type]
    if kind in (OCTET_STRING, IP_ADDRESS, OPAQUE):
        return head + encode_octets(bytes(value))  # type: ignore[arg-type]
    if kind == OBJECT_IDENTIFIER:
        return head + encode_oid(tuple(value))  # type: ignore[arg-type]
    if kind in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        return head
    raise ValueError("unknown varbind type %r" % kind)


def pdu(type_: int, payload: bytes, session_id: int = 0, transaction_id: int = 0,
        packet_id: int = 0, flags: int = 0) -> bytes:
    """A whole PDU in network byte order."""
    return struct.pack(">BBBBIIII", VERSION, type_, flags | NETWORK_BYTE_ORDER, 0,
                       session_id, transaction_id, packet_id, len(payload)) + payload


def open_pdu(timeout: int, oid: Oid, description: str, packet_id: int) -> bytes:
    payload = (struct.pack(">B3x", timeout) + encode_oid(oid)
               + encode_octets(description.encode()))
    return pdu(OPEN, payload, packet_id=packet_id)


def register_pdu(session_id: int, subtree: Oid, timeout: int, priority: int,
                 packet_id: int) -> bytes:
    payload = struct.pack(">BBBB", timeout, priority, 0, 0) + encode_oid(subtree)
    return pdu(REGISTER, payload, session_id, packet_id=packet_id)


def close_pdu(session_id: int, reason: int, packet_id: int) -> bytes:
    return pdu(CLOSE, struct.pack(">B3x", reason), session_id, packet_id=packet_id)


def ping_pdu(session_id: int, packet_id: int) -> bytes:
    return pdu(PING, b"", session_id, packet_id=packet_id)


def notify_pdu(session_id: int, varbinds: Sequence[VarBind], packet_id: int) -> bytes:
    return pdu(NOTIFY, b"".join(encode_varbind(v) for v in varbinds), session_id,
               packet_id=packet_id)


def response_pdu(request: Header, uptime: int, varbinds: Sequence[VarBind] = (),
                 error: int = NO_ERROR, index: int = 0) -> bytes:
    payload = (struct.pack(">IHH", uptime & _U32, error, index)
               + b"".join(encode_varbind(v) for v in varbinds))
    return pdu(RESPONSE, payload, request.session_id, request.transaction_id,
               request.packet_id)


# -- decoding ---------------------------------------------------------------------


def decode_header(data: bytes) -> Header:
    if len(data) < HEADER:
        raise ParseError("short header")
    version, type_, flags, _ = struct.unpack_from(">BBBB", data)
    if version != VERSION:
        raise ParseError("AgentX version %d" % version)
    order = ">" if flags & NETWORK_BYTE_ORDER else "<"
    session, transaction, packet, length = struct.unpack_from(order + "IIII", data, 4)
    if length % 4 or length > _MAX_PAYLOAD:
        raise ParseError("payload length %d" % length)
    return Header(type_, flags, session, transaction, packet, length)


class _Reader:
    def __init__(self, payload: bytes, order: str) -> None:
        self.data = payload
        self.pos = 0
        self.order = order

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise ParseError("truncated PDU")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(self.order + fmt, self.take(struct.calcsize(self.order + fmt)))

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def oid(self) -> tuple[Oid, bool]:
        count, prefix, include, _ = self.unpack("BBBB")
        subids = self.unpack("%dI" % count) if count else ()
        if prefix:
            return (*INTERNET, prefix, *subids), bool(include)
        return tuple(subids), bool(include)

    def octets(self) -> bytes:
        (size,) = self.unpack("I")
        data = self.take(size)
        self.take(-size % 4)
        return data


def decode_request(header: Header, payload: bytes) -> Request:
    """A Get/GetNext/GetBulk (with its search ranges) or another master PDU."""
    reader = _Reader(payload, header.order)
    if header.flags & NON_DEFAULT_CONTEXT:
        reader.octets()  # one context: ours serves the default one the same way
    non_repeaters = max_repetitions = 0
    if header.type == GETBULK:
        non_repeaters, max_repetitions = reader.unpack("HH")
    ranges = []
    if header.type in (GET, GETNEXT, GETBULK):
        while reader.left:
            start, include = reader.oid()
            end, _ = reader.oid()
            ranges.append(SearchRange(start, end, include))
    return Request(header, tuple(ranges), non_repeaters, max_repetitions)


def decode_response(header: Header, payload: bytes) -> Response:
    uptime, error, index = _Reader(payload, header.order).unpack("IHH")
    return Response(header, uptime, error, index)


def decode_varbinds(header: Header, payload: bytes, skip: int = 0) -> list[VarBind]:
    """The varbinds of a Notify or Response payload after ``skip`` bytes (for tests)."""
    reader = _Reader(payload, header.order)
    reader.take(skip)
    found = []
    while reader.left:
        kind, _ = reader.unpack("HH")
        oid, _ = reader.oid()
        value: int | bytes | Oid | None = None
        if kind == INTEGER:
            (value,) = reader.unpack("i")
        elif kind in (COUNTER32, GAUGE32, TIME_TICKS):
            (value,) = reader.unpack("I")
        elif kind == COUNTER64:
            (value,) = reader.unpack("Q")
        elif kind in (OCTET_STRING, IP_ADDRESS, OPAQUE):
            value = reader.octets()
        elif kind == OBJECT_IDENTIFIER:
            value, _ = reader.oid()
        elif kind not in (NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
            raise ParseError("varbind type %d" % kind)
        found.append(VarBind(oid, kind, value))
    return found
