"""Real libvirtd + QEMU + Prometheus: the inovex profile answers an inovex dashboard's queries.

One guest with a file disk (vda), a disk whose ``<serial>`` is a Cinder
volume id (vdb) and a NIC whose tap is named by Nova's rule after a port
that the Nova 1.1 metadata lists with a fixed IP. The enricher runs with
``[prometheus] metric_names = inovex`` and no tenant labels (strict
compatibility); Prometheus scrapes it every second.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from xml.sax.saxutils import quoteattr

import libvirt
import pytest

from tests.e2e.harness import domains
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import launch_enricher
from tests.e2e.harness.libvirtd import LibvirtHost
from tests.e2e.harness.prometheus import PrometheusServer, launch_prometheus

pytestmark = pytest.mark.e2e
NAME_PREFIX = "enr-prf-"
TIMEOUT = 60.0
VOLUME_ID = str(uuid.uuid4())
PORT_ID = str(uuid.uuid4())
FIXED_IP = "10.11.12.13"


@dataclasses.dataclass(frozen=True)
class Setup:
    prometheus: PrometheusServer
    spec: E2EDomain


def _xml(spec: E2EDomain, domain_type: str, volume_path: str) -> str:
    volume = f"""<disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file={quoteattr(volume_path)}/>
      <target dev='vdb' bus='virtio'/>
      <serial>{VOLUME_ID}</serial>
    </disk>"""
    ports = f"""  <nova:ports>
        <nova:port uuid="{PORT_ID}">
          <nova:ip type="fixed" address="{FIXED_IP}" ipVersion="4"/>
        </nova:port>
      </nova:ports>
    </nova:instance>"""
    xml = domains.guest_xml(spec, domain_type, devices=volume)
    return xml.replace("</nova:instance>", ports, 1)


@pytest.fixture(scope="module")
def setup(libvirt_host: LibvirtHost, libvirt_conn: libvirt.virConnect,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    workdir, specs = domains.fresh_specs(libvirt_conn, NAME_PREFIX, ("inv",), nic=True)
    # Nova's tap name: "tap" + the first 11 characters of the port id.
    spec = dataclasses.replace(specs["inv"], tap="tap" + PORT_ID[:11])
    volume = workdir / "volume.raw"
    try:
        for path in (spec.disk_path, volume):
            with path.open("wb") as disk:
                disk.truncate(domains.DISK_BYTES)
        domains.start(libvirt_conn, _xml(spec, libvirt_host.domain_type, str(volume)))
        config = {"prometheus": {"metric_names": "inovex", "tenant_labels": ""},
                  "DEFAULT": {"interval": 1}}
        tmp = tmp_path_factory.mktemp("enricher-inovex")
        with launch_enricher(tmp / "enricher", libvirt_host.uri, config) as enricher, \
                launch_prometheus(tmp / "prometheus", enricher.target) as prometheus:
            yield Setup(prometheus, spec)
    finally:
        domains.remove_specs(libvirt_conn, [spec])
        shutil.rmtree(workdir, ignore_errors=True)


def _one(setup: Setup, promql: str) -> dict[str, str]:
    result = setup.prometheus.wait_for(promql, timeout=TIMEOUT)
    assert len(result) == 1, result
    return result[0]["metric"]


def test_dashboard_queries_return_data(setup: Setup) -> None:
    dom = 'domain="%s"' % setup.spec.name
    rate = setup.prometheus.wait_for(
        "rate(libvirt_domain_info_cpu_time_seconds_total{%s}[1m])" % dom, timeout=TIMEOUT)
    assert len(rate) == 1 and float(rate[0]["value"][1]) >= 0, rate
    disks = setup.prometheus.wait_for(
        "libvirt_domain_block_stats_read_bytes_total{%s}" % dom,
        lambda r: len(r) == 2, timeout=TIMEOUT)
    assert sorted(s["metric"]["target_device"] for s in disks) == ["vda", "vdb"]
    assert {k for s in disks for k in s["metric"]} == {"__name__", "domain", "instance",
                                                      "job", "target_device"}
    info = _one(setup, "libvirt_domain_openstack_info{%s}" % dom)
    assert (info["instance_id"], info["project_name"]) == (
        setup.spec.uuid, setup.spec.project_name)
    # The join every inovex dashboard makes: per-VM series on ``domain`` with the tenancy.
    joined = _one(setup, "libvirt_domain_info_cpu_time_seconds_total{%s} * on (domain) "
                         "group_left(project_name, instance_name) "
                         "libvirt_domain_openstack_info" % dom)
    assert joined["project_name"] == setup.spec.project_name
    assert joined["instance_name"] == setup.spec.instance_name
    state = _one(setup, "libvirt_domain_info_state{%s}" % dom)
    assert state["state_desc"] == "the domain is running"


def test_device_info_carries_the_volume_and_port_ids(setup: Setup) -> None:
    dom = 'domain="%s"' % setup.spec.name
    nic = _one(setup, "libvirt_domain_interface_stats_info{%s}" % dom)
    assert (nic["target_device"], nic["port_id"], nic["fixed_ips"]) == (
        setup.spec.tap, PORT_ID, FIXED_IP)
    volume = _one(setup, 'libvirt_domain_block_stats_info{%s, serial="%s"}'
                  % (dom, VOLUME_ID))
    assert (volume["target_device"], volume["driver_cache"]) == ("vdb", "none")
    root = _one(setup, 'libvirt_domain_block_stats_info{%s, target_device="vda"}' % dom)
    assert root["source_file"] == str(setup.spec.disk_path) and "serial" not in root  # ""
    # The documented joins: a counter gets the volume id, or the port id, of its device.
    read = _one(setup, "libvirt_domain_block_stats_read_bytes_total{%s} * on (domain, "
                       "target_device) group_left(serial) libvirt_domain_block_stats_info"
                       '{serial="%s"}' % (dom, VOLUME_ID))
    assert read["target_device"] == "vdb"
    rx = _one(setup, "libvirt_domain_interface_stats_receive_bytes_total{%s} * on (domain, "
                     "target_device) group_left(port_id) libvirt_domain_interface_stats_info"
                     % dom)
    assert rx["port_id"] == PORT_ID
