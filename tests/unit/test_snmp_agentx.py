"""The AgentX codec, the view's Get/GetNext/GetBulk and the string encoding."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enricher.exporters.snmp import agent, agentx, index, mib

OIDS = st.lists(st.integers(0, 0xFFFFFFFF), min_size=2, max_size=40).map(tuple)


def _roundtrip(vb: agentx.VarBind) -> agentx.VarBind:
    data = agentx.notify_pdu(7, [vb], 1)
    header = agentx.decode_header(data)
    assert header.length == len(data) - agentx.HEADER
    (found,) = agentx.decode_varbinds(header, data[agentx.HEADER:])
    return found


@settings(max_examples=500)
@given(st.text(max_size=2000))
def test_hostile_strings_arrive_as_their_utf8_bytes_cut_at_a_character(text: str) -> None:
    data = index.encode_string(text)
    assert len(data) <= mib.STRING_MAX
    decoded = data.decode("utf-8", "surrogatepass")
    assert text.startswith(decoded)
    if len(text.encode("utf-8", "surrogatepass")) <= mib.STRING_MAX:
        assert decoded == text
    else:  # cut at most one character short of the limit
        assert len(decoded.encode("utf-8", "surrogatepass")) > mib.STRING_MAX - 4
    oid = (1, 3, 6, 1, 4, 1, 32473, 1, 1, 2, 1, 4, 42)
    assert _roundtrip(agentx.VarBind(oid, agentx.OCTET_STRING, data)).value == data


@settings(max_examples=500)
@given(OIDS, st.integers(0, 2**64 - 1))
def test_counter64_and_any_oid_round_trip(oid: tuple[int, ...], value: int) -> None:
    found = _roundtrip(agentx.VarBind(oid, agentx.COUNTER64, value))
    assert found == agentx.VarBind(oid, agentx.COUNTER64, value)


def test_internet_prefix_is_compressed() -> None:
    data = agentx.encode_oid((1, 3, 6, 1, 4, 1, 32473))
    assert data[:4] == bytes([2, 4, 0, 0]) and struct.unpack(">2I", data[4:]) == (1, 32473)
    assert agentx.encode_oid((1, 3, 6, 1))[:2] == bytes([4, 0])  # too short to compress


def _request(kind: int, ranges: list[tuple[tuple[int, ...], tuple[int, ...], bool]],
             order: str = ">", non_repeaters: int = 0, max_repetitions: int = 0
             ) -> agentx.Request:
    """A master request as bytes in either byte order, decoded."""
    flags = agentx.NETWORK_BYTE_ORDER if order == ">" else 0
    payload = struct.pack(order + "HH", non_repeaters, max_repetitions) \
        if kind == agentx.GETBULK else b""
    for start, end, include in ranges:
        for oid, inc in ((start, include), (end, False)):
            payload += struct.pack(order + "BBBB", len(oid), 0, int(inc), 0)
            payload += struct.pack(order + "%dI" % len(oid), *oid)
    head = struct.pack(order[0] + "BBBB", 1, kind, flags, 0) + struct.pack(
        order + "IIII", 5, 6, 9, len(payload))
    header = agentx.decode_header(head)
    return agentx.decode_request(header, payload)


VIEW = index.View(
    oids=((1, 1), (1, 2), (1, 3), (2, 1)),
    varbinds=tuple(agentx.VarBind(o, agentx.GAUGE32, n)
                   for n, o in enumerate(((1, 1), (1, 2), (1, 3), (2, 1)))),
    objects=frozenset({(1,), (2,)}))


@pytest.mark.parametrize("order", [">", "<"])
def test_get_getnext_and_getbulk_answers(order: str) -> None:
    get = _request(agentx.GET, [((1, 2), (), False), ((1, 9), (), False),
                                ((7,), (), False)], order)
    assert get.header.session_id == 5 and get.header.packet_id == 9
    assert [v.type for v in agent.answer(VIEW, get)] == [
        agentx.GAUGE32, agentx.NO_SUCH_INSTANCE, agentx.NO_SUCH_OBJECT]
    nxt = _request(agentx.GETNEXT, [((1, 2), (), False), ((1, 2), (), True),
                                    ((1, 3), (2,), False), ((2, 1), (), False)], order)
    assert [(v.oid, v.type) for v in agent.answer(VIEW, nxt)] == [
        ((1, 3), agentx.GAUGE32), ((1, 2), agentx.GAUGE32),
        ((1, 3), agentx.END_OF_MIB_VIEW), ((2, 1), agentx.END_OF_MIB_VIEW)]
    bulk = _request(agentx.GETBULK, [((1,), (), False), ((1, 1), (), False)], order,
                    non_repeaters=1, max_repetitions=5)
    assert [v.oid for v in agent.answer(VIEW, bulk)] == [
        (1, 1), (1, 2), (1, 3), (2, 1), (2, 1)]
    assert agent.answer(VIEW, bulk)[-1].type == agentx.END_OF_MIB_VIEW


def test_bad_pdus_are_parse_errors() -> None:
    with pytest.raises(agentx.ParseError):
        agentx.decode_header(b"\x02" + bytes(19))  # version 2
    with pytest.raises(agentx.ParseError):
        agentx.decode_header(struct.pack(">BBBBIIII", 1, 5, 0x10, 0, 0, 0, 0, 3))
    header = agentx.decode_header(struct.pack(">BBBBIIII", 1, 5, 0x10, 0, 0, 0, 0, 8))
    with pytest.raises(agentx.ParseError):
        agentx.decode_request(header, struct.pack(">BBBB", 9, 0, 0, 0) + bytes(4))


@pytest.mark.parametrize(("address", "parsed"), [
    ("/var/agentx/master", ("/var/agentx/master",)),
    ("unix:/run/agentx", ("/run/agentx",)),
    ("tcp:localhost:705", (("localhost", 705),)),
    ("tcp:[::1]:705", (("::1", 705),)),
])
def test_agentx_addresses(address: str, parsed: tuple) -> None:
    assert agent.parse_address(address)[1] == parsed[0]


@pytest.mark.parametrize("address", ["localhost", "tcp:host", "tcp:host:99999", "udp:x:1"])
def test_bad_agentx_addresses(address: str) -> None:
    with pytest.raises(ValueError):
        agent.parse_address(address)


def test_vm_index_is_stable_per_uuid_and_collisions_get_the_next_free_value() -> None:
    a = "6a1f3b2e-4c5d-4e6f-8a9b-0c1d2e3f4a51"
    first = index.VmIndexes()
    assert first.get(a) == int(a.replace("-", ""), 16) % 0x7FFFFFFF + 1
    assert index.VmIndexes().get(a) == first.get(a)  # the same after a restart
    # Another UUID with the same natural index (128-bit value + 2^31 - 1).
    twin = "%032x" % (int(a.replace("-", ""), 16) + 0x7FFFFFFF)
    assert index.VmIndexes.natural(twin) == first.get(a)
    assert first.get(twin) == first.get(a) + 1
    first.keep_only([twin])
    assert first.get(twin) == index.VmIndexes.natural(twin) + 1  # kept while it exists
    assert first.get(a) == index.VmIndexes.natural(a)  # free again once gone


def test_cpu_list_and_mac() -> None:
    assert index.cpu_list([8, 0, 1, 2, 3, 10, 11]) == "0-3,8,10-11"
    assert index.mac_bytes("52:54:00:ab:cd:ef") == bytes.fromhex("525400abcdef")
    assert index.mac_bytes("garbage") is None
