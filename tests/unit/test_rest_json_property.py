"""Any tenant or domain name comes out of the API's JSON intact and valid (hypothesis)."""

from __future__ import annotations

import json
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from enricher.events.history import EventHistory
from enricher.exporters.history import History
from enricher.libvirt.events import DomainEvent
from enricher.libvirt.stats import Device, DomainSample
from enricher.tenancy import model

names = st.text(min_size=0, max_size=40)
numbers = st.one_of(st.integers(min_value=-2**63, max_value=2**64), st.floats())


@settings(max_examples=500, deadline=None)
@given(domain=names, project=names, user=names, device=names, value=numbers)
def test_stats_and_event_json_keep_hostile_names(domain: str, project: str, user: str,
                                                 device: str, value: float) -> None:
    tenancy = model.Tenancy(project_name=project, user_name=user, instance_name=domain,
                            ports=(model.Port(uuid=project, ips=(model.FixedIP(user),)),))
    sample = DomainSample(uuid="u-1", name=domain, active=True, state=1, reason=0,
                          scalars=MappingProxyType({"cpu.time": value}),
                          blocks=(Device(device, MappingProxyType({"name": device,
                                                                   "rd.bytes": value})),))
    history = History(60, 15)
    history.add(1000.0, [(sample, tenancy)])
    body = history.render_all()
    body.decode("ascii")  # ASCII JSON: valid UTF-8 whatever the names
    (record,) = json.loads(body)["u-1"]
    assert record["domain"] == domain
    assert record["tenancy"]["project_name"] == project
    assert record["tenancy"]["ports"][0]["ips"][0]["address"] == user
    assert record["blocks"][0]["name"] == device
    assert json.loads(history.render_one("u-1")) == [record]

    events = EventHistory(10, host="h")
    events(DomainEvent("u-1", domain, "started", device, 1000.0, {"k": project}), tenancy)
    (item,) = events.items()
    event = json.loads(item.json)
    assert event["domain_name"] == domain and event["project_name"] == project
    assert event["attrs"] == {"k": project} and event["reason"] == device
