"""Property: whatever strings a tenant chose, every StatsD line parses back strictly,
with each name segment and tag value decoding to the original string."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enricher.exporters.statsd import escape, packing
from enricher.exporters.statsd.lines import Formatter, Layout
from enricher.libvirt.stats import sample_from_record
from enricher.sampler import Snapshot
from enricher.tenancy import model
from tests import fakes, statsd_parser

UUID = "0f0e0d0c-0b0a-4909-8807-060504030201"
TENANT_LABELS = ("instance_name", "project_name", "user_name", "flavor", "project_id")
LIMIT = 512

# Any Unicode text (surrogates included), weighted towards the separators.
hostile = st.text(st.one_of(st.sampled_from(list(".:|@#,= \n\r\t%_\x00\u2028\x85")),
                            st.characters()), max_size=40)
optional = st.one_of(st.none(), hostile)


def _snapshot(domain: str, device: str, tenancy: model.Tenancy, rd: int) -> Snapshot:
    raw = {"state.state": 1, "cpu.time": 5_000_000 * rd, "balloon.current": 2048,
           "block.count": 1, "block.0.name": device, "block.0.rd.bytes": rd,
           "net.count": 1, "net.0.name": device + "-net", "net.0.tx.pkts": rd}
    sample = sample_from_record(fakes.Domain(domain, UUID, 4), raw)
    return Snapshot(samples=(sample,), tenancy=MappingProxyType({UUID: tenancy}),
                    libvirt_up=True, collected_at=1.0, duration=0.1)


def _labels(domain: str, tenancy: model.Tenancy) -> dict[str, str]:
    values = {"domain": domain, "uuid": UUID}
    values.update({f: tenancy.label_value(f) for f in TENANT_LABELS})
    return values


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domain=hostile, device=hostile, instance=optional, project=optional,
       user=optional, flavor=optional, project_id=optional,
       tag_format=st.sampled_from(["none", "dogstatsd", "influxdb"]),
       name_labels=st.lists(st.sampled_from(["project_name", "instance_name", "uuid",
                                             "domain", "user_name"]),
                            min_size=1, max_size=3, unique=True))
def test_any_tenant_strings_give_lines_that_parse_back(
        domain, device, instance, project, user, flavor, project_id, tag_format,
        name_labels) -> None:
    tenancy = model.Tenancy(instance_uuid=UUID, instance_name=instance,
                            project_name=project, user_name=user, flavor=flavor,
                            project_id=project_id)
    layout = Layout(tag_format=tag_format, prefix="os.enricher",
                    name_labels=tuple(name_labels), tenant_labels=TENANT_LABELS)
    formatter = Formatter(layout)
    formatter.lines(_snapshot(domain, device, tenancy, 10))  # the counters' baseline
    items = formatter.lines(_snapshot(domain, device, tenancy, 25))
    packed = packing.pack(items, LIMIT)
    assert all(len(d) <= LIMIT for d in packed.datagrams)
    lines = [line for d in packed.datagrams
             for line in statsd_parser.parse_datagram(d, tag_format)]
    assert len(lines) == packed.lines
    assert packed.lines + packed.too_long >= len(items)
    expected = _labels(domain, tenancy)
    per_vm = [line for line in lines if line.name != "os.enricher.libvirt_up"]
    assert per_vm or packed.too_long
    for line in per_vm:
        assert line.segments[:2] == ("os", "enricher")
        family_at = 2 + (len(name_labels) if tag_format == "none" else 0)
        family = line.segments[family_at]
        assert family.startswith("libvirt_domain_")
        own = line.segments[family_at + 1:]
        if tag_format == "none":
            names = [escape.unescape_segment(s) for s in line.segments[2:family_at]]
            assert names == [expected[f] for f in name_labels]
            assert line.tags == {}
            if "block" in family:
                assert [escape.unescape_segment(s) for s in own] == [device]
        else:
            assert own == ()
            wanted = {k: v for k, v in expected.items() if v}
            device_tag = {k: line.tags[k] for k in ("device", "interface") if k in line.tags}
            assert {k: v for k, v in line.tags.items() if k not in device_tag} == wanted
            assert set(device_tag.values()) <= {device, device + "-net"}
        if line.type == "c":
            assert line.value == 15 or family == "libvirt_domain_cpu_time_seconds_total"
