"""Property tests of the exposition: hostile tenancy and names still give valid text.

Tenancy reaches the exposition from Nova's metadata and from Nova's API
(JSON, where ``\\u`` escapes carry control characters and even lone
surrogates). Whatever it holds, every rendered exposition parses back with
prometheus_client's parser to the same label values, and ``promtool check
metrics`` accepts every fuzzed exposition (all examples in one promtool run).
"""

from __future__ import annotations

import subprocess
import time
from types import MappingProxyType

from hypothesis import example, given
from hypothesis import strategies as st

from enricher.exporters import extra_metrics, prometheus, text
from enricher.libvirt.stats import Device, DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import model
from tests import tools
from tests.exposition import parse
from tests.unit.test_metadata_fuzz import HOSTILE

LABELS = model.LABEL_FIELDS  # every field a tenant label may be
# Any code point, lone surrogates included (json.loads('"\\ud800"') gives one).
hostile_char = st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "\x00",
                                                           "\x7f", "\u2028"]))
value = st.one_of(
    st.text(hostile_char, max_size=30),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(HOSTILE), max_size=5).map("".join),
    # Very long (a few escapes only: prometheus_client's parser is slow on many).
    st.integers(1000, 30_000).map(lambda n: 'x' * n + '"\\\n{}'),
)
maybe = st.none() | value


@st.composite
def domains(draw: st.DrawFn) -> tuple[DomainSample, model.Tenancy]:
    uuid = draw(value)
    tenancy = model.Tenancy(**{f: draw(maybe) for f in LABELS}, source=draw(value),
                            flavor_vcpus=draw(st.none() | st.integers()),
                            ports=tuple(model.Port(uuid=draw(value), ips=(model.FixedIP(
                                draw(value)),)) for _ in range(draw(st.integers(0, 2)))))
    sample = DomainSample(
        uuid=uuid, name=draw(value), active=draw(st.booleans()), state=draw(st.integers(0, 8)),
        reason=0,
        scalars=MappingProxyType({"cpu.time": draw(st.integers(0, 2**64)),
                                  "balloon.current": draw(st.floats(allow_nan=True)),
                                  "vcpu.current": 1, "perf.x" + draw(value): 1}),
        vcpus=(Device("0", MappingProxyType({"time": 5})),),
        blocks=(Device(draw(value), MappingProxyType({"rd.bytes": 512})),),
        nets=(Device(draw(value), MappingProxyType({"rx.bytes": 7})),))
    return sample, tenancy


def _snapshot(rows: list[tuple[DomainSample, model.Tenancy]]) -> Snapshot:
    return Snapshot(samples=tuple(s for s, _ in rows),
                    tenancy=MappingProxyType({s.uuid: t for s, t in rows}),
                    libvirt_up=True, collected_at=1.0, duration=0.1,
                    timed_out=frozenset(s.uuid for s, _ in rows[:1]))


def render(snap: Snapshot) -> bytes:
    """The whole exposition as MetricsApp builds it (per-VM part, then self-metrics)."""
    return text.render([*prometheus.domain_families(snap, LABELS),
                        *extra_metrics.extra_families(snap, LABELS),
                        *prometheus.self_families(snap, {("libvirt", "x"): 1}, time.monotonic())])


def _as_sent(value: str) -> str:
    """A label value as it is sent: what UTF-8 cannot carry becomes "?"."""
    return value.encode("utf-8", "replace").decode("utf-8")


FUZZED: list[tuple[DomainSample, model.Tenancy]] = []  # for the one promtool run


@given(domains())
@example((DomainSample("\ud800", "a\nb", True, 1, 0, MappingProxyType({})),
          model.Tenancy(project_name='"} 1\nlibvirt_up 0\n', user_name="\\")))
def test_hostile_tenancy_parses_back_to_the_same_labels(row: tuple[DomainSample,
                                                                   model.Tenancy]) -> None:
    sample, tenancy = row
    body = render(_snapshot([row]))
    lines = body.decode("utf-8").split("\n")  # valid UTF-8; the format ends lines with \n
    assert lines.pop() == ""
    # One line per sample: a value's newline or quote never starts a line of its own.
    assert all(line.startswith(("# HELP ", "# TYPE ", "libvirt_", "enricher_"))
               for line in lines)
    # prometheus_client's parser is slow on long values: it reads back the two families
    # that carry every label; promtool reads every line (one run for all examples).
    checked = [line for line in lines if line.startswith(
        ("libvirt_up", "libvirt_domain_info_state", "libvirt_domain_openstack_info"))]
    samples = parse("\n".join(checked) + "\n")
    assert samples["libvirt_up"][0].value == 1
    (state,) = samples["libvirt_domain_info_state"]
    assert state.labels["domain"] == _as_sent(sample.name)
    assert state.labels["uuid"] == _as_sent(sample.uuid)
    for field in LABELS:
        assert state.labels[field] == _as_sent(tenancy.label_value(field)), field
    (info,) = samples["libvirt_domain_openstack_info"]
    assert info.labels["source"] == _as_sent(tenancy.source)
    FUZZED.append(row)


def test_promtool_accepts_every_fuzzed_exposition() -> None:
    promtool = tools.find("promtool", "prometheus")
    if not FUZZED:  # run alone: fuzz first
        test_hostile_tenancy_parses_back_to_the_same_labels()
    # One exposition of every example's domain, each under a UUID of its own.
    rows = [(DomainSample("u-%d" % i, s.name, s.active, s.state, s.reason, s.scalars,
                          s.vcpus, s.blocks, s.nets), t) for i, (s, t) in enumerate(FUZZED)]
    body = render(_snapshot(rows))
    assert body.count(b"\nlibvirt_domain_timed_out{") == sum(s.active for s, _ in rows)
    result = subprocess.run([promtool, "check", "metrics"], input=body,
                            capture_output=True, timeout=120)
    out = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode == 0, out[:2000]
    assert out.strip() == "", out[:2000]
