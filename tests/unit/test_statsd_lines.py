"""StatsD escaping, line layouts, counter deltas and datagram packing."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from enricher.exporters.statsd import escape, packing
from enricher.exporters.statsd.lines import Formatter, Layout, number
from enricher.libvirt.stats import sample_from_record
from enricher.sampler import Snapshot
from enricher.tenancy import model
from tests import fakes, statsd_parser

UUID = "e22c05ef-5d01-420e-8189-a451e4f10d3e"
HOSTILE = "we.b|sh:op@x#y,z=w q\nr\x00\u2028ü%_"
FORBIDDEN = set(".:|@#,= \n\r\t\x00\u2028%") - {"%"}


def snapshot(cpu_ns: int = 2_000_000_000, rd_bytes: int = 4096, balloon_kib: int = 1024,
             project: str | None = "acme", device: str = "vda") -> Snapshot:
    raw = {"state.state": 1, "state.reason": 1, "cpu.time": cpu_ns,
           "balloon.current": balloon_kib, "block.count": 1, "block.0.name": device,
           "block.0.rd.bytes": rd_bytes}
    sample = sample_from_record(fakes.Domain("instance-0000000a", UUID, 3), raw)
    tenancy = model.Tenancy(instance_uuid=UUID, instance_name="web-01", project_id="p" * 32,
                            project_name=project, user_name="alice", flavor="m1.small",
                            source=model.SOURCE_METADATA)
    return Snapshot(samples=(sample,), tenancy=MappingProxyType({UUID: tenancy}),
                    libvirt_up=True, collected_at=1.0, duration=0.1)


LABELS = ("project_name", "flavor")


def two_sends(layout: Layout, **later: object) -> tuple[list[str], list[str]]:
    formatter = Formatter(layout)
    first = formatter.lines(snapshot())
    return first, formatter.lines(snapshot(**later))


# -- escaping -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [HOSTILE, "a.b", "100%", "Ünïcödé", "x" * 300, "_x_"])
def test_a_segment_has_no_separator_and_decodes_back(value: str) -> None:
    escaped = escape.segment(value)
    assert not set(escaped) & FORBIDDEN
    assert escaped.isascii()
    assert escape.unescape_segment(escaped) == value


def test_unknown_is_an_underscore_and_a_lone_underscore_is_escaped() -> None:
    assert escape.segment("") == "_"
    assert escape.segment("_") == "%5F"
    assert escape.unescape_segment("_") == "" and escape.unescape_segment("%5F") == "_"
    assert escape.segment("web_01-a") == "web_01-a"  # readable names stay as they are


def test_tag_values_keep_dots_and_slashes() -> None:
    assert escape.tag("m1.small") == "m1.small"
    assert escape.tag("a/b") == "a/b"
    assert escape.tag("a:b,c=d|e#f@g h") == "a%3Ab%2Cc%3Dd%7Ce%23f%40g%20h"


# -- layouts ------------------------------------------------------------------------

def test_plain_names_carry_project_and_uuid_counters_send_deltas() -> None:
    first, second = two_sends(Layout(), cpu_ns=3_500_000_000, rd_bytes=6144)
    head = "enricher.acme.%s." % UUID
    assert "enricher.libvirt_up:1|g" in first
    assert head + "libvirt_domain_info_state:1|g" in first
    assert head + "libvirt_domain_memory_usage_bytes:1048576|g" in first
    assert not [line for line in first if line.endswith("|c")], "first send is the baseline"
    assert head + "libvirt_domain_cpu_time_seconds_total:1.5|c" in second
    assert head + "libvirt_domain_block_read_bytes_total.vda:2048|c" in second


def test_hostile_names_are_escaped_in_plain_names() -> None:
    formatter = Formatter(Layout(name_labels=("project_name", "uuid")))
    lines = formatter.lines(snapshot(project=HOSTILE, device="v.d:a"))
    state = [line for line in lines if "libvirt_domain_memory_usage_bytes" in line]
    assert state == ["enricher.%s.%s.libvirt_domain_memory_usage_bytes:1048576|g"
                     % (escape.segment(HOSTILE), UUID)]
    for line in lines:
        parsed = statsd_parser.parse_line(line, "none")
        assert len(parsed.segments) in (2, 4, 5)
    project = statsd_parser.parse_line(state[0], "none").segments[1]
    assert escape.unescape_segment(project) == HOSTILE


def test_an_unknown_project_is_an_underscore_segment() -> None:
    lines = Formatter(Layout()).lines(snapshot(project=None))
    assert "enricher._.%s.libvirt_domain_info_state:1|g" % UUID in lines


def test_dogstatsd_tags() -> None:
    layout = Layout(tag_format="dogstatsd", tenant_labels=LABELS, prefix="os.compute")
    _, second = two_sends(layout, rd_bytes=5120)
    assert ("os.compute.libvirt_domain_block_read_bytes_total:1024|c|#domain:"
            "instance-0000000a,uuid:%s,project_name:acme,flavor:m1.small,device:vda" % UUID
            ) in second


def test_influxdb_tags_and_empty_values_left_out() -> None:
    layout = Layout(tag_format="influxdb", tenant_labels=("project_name", "user_id"),
                    prefix="")
    lines = Formatter(layout).lines(snapshot(project=HOSTILE))
    assert ("libvirt_domain_info_state,domain=instance-0000000a,uuid=%s,project_name=%s:1|g"
            % (UUID, escape.tag(HOSTILE))) in lines


def test_gauge_mode_sends_running_totals() -> None:
    lines = Formatter(Layout(counters="gauge")).lines(snapshot())
    assert "enricher.acme.%s.libvirt_domain_cpu_time_seconds_total:2|g" % UUID in lines


def test_a_counter_that_went_down_sends_its_new_value() -> None:
    _, second = two_sends(Layout(), rd_bytes=1000)
    assert "enricher.acme.%s.libvirt_domain_block_read_bytes_total.vda:1000|c" % UUID in second


def test_a_negative_gauge_is_zeroed_first_in_one_item() -> None:
    lines = Formatter(Layout()).lines(snapshot(balloon_kib=-2))
    name = "enricher.acme.%s.libvirt_domain_memory_usage_bytes" % UUID
    assert "%s:0|g\n%s:-2048|g" % (name, name) in lines


def test_numbers() -> None:
    assert number(3.0) == "3"
    assert number(0.25) == "0.25"
    assert number(1.2e18) == "1200000000000000000"
    assert number(1e300) == "1e+300"


# -- packing ------------------------------------------------------------------------

def test_datagrams_stay_under_the_limit_and_never_split_a_line() -> None:
    items = ["m%03d:%s|g" % (i, "1" * (i % 37)) for i in range(400)] + ["a:0|g\nb:-1|g"]
    packed = packing.pack(items, 100)
    assert all(len(d) <= 100 for d in packed.datagrams)
    assert b"\n".join(packed.datagrams).decode().split("\n") == "\n".join(items).split("\n")
    assert packed.lines == 402 and packed.too_long == 0


def test_a_line_over_the_limit_is_dropped_and_counted() -> None:
    packed = packing.pack(["short:1|g", "x" * 101 + ":1|g", "b:1|g"], 100)
    assert packed.datagrams == (b"short:1|g\nb:1|g",)
    assert packed.too_long == 1 and packed.lines == 2


def test_a_line_of_exactly_the_limit_fits() -> None:
    line = "y" * 96 + ":1|g"
    assert packing.pack(["a:1|g", line], 100).datagrams == (b"a:1|g", line.encode())


def test_only_the_chosen_metrics_are_sent() -> None:
    layout = Layout(metrics=("libvirt_domain_info_state", "libvirt_domain_cpu_time_seconds_total"))
    formatter = Formatter(layout)
    formatter.lines(snapshot())
    names = {line.split(":")[0].rsplit(".", 1)[-1]
             for line in formatter.lines(snapshot(cpu_ns=3_000_000_000))}
    assert names == {"libvirt_domain_info_state", "libvirt_domain_cpu_time_seconds_total"}


def test_the_default_metrics_are_sendable_catalog_families() -> None:
    from enricher.exporters.statsd import selection

    assert set(selection.DEFAULT_METRICS) <= set(selection.SENDABLE)
    assert "libvirt_domain_openstack_info" not in selection.SENDABLE
