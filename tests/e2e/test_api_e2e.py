"""The REST API on real guests: the history's CPU samples increase (the light 1 s
collection, host-read CPU), and the block and net samples of the newest
collection are those /metrics serves from the same snapshot."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import procs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, launch_enricher
from tests.exposition import parse


@pytest.fixture(scope="module")
def enricher(libvirt_host: Any, e2e_domains: dict[str, E2EDomain],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnricherProcess]:
    # Full collections every 30 s (so /metrics and ?live=true share one snapshot),
    # the history every second from the light collection.
    config = {"DEFAULT": {"interval": 30}, "api": {"history_interval": 1}}
    workdir = tmp_path_factory.mktemp("api-" + secrets.token_hex(2))
    with launch_enricher(workdir, libvirt_host.uri, config) as proc:
        yield proc


def _json(enricher: EnricherProcess, path: str) -> Any:
    status, body = procs.http_get("http://127.0.0.1:%d%s" % (enricher.port, path),
                                  timeout=10.0)
    assert status == 200, (path, status, body[:300])
    return json.loads(body)


def test_history_cpu_samples_increase_every_second(
        enricher: EnricherProcess, e2e_domains: dict[str, E2EDomain]) -> None:
    time.sleep(4.5)
    for spec in e2e_domains.values():
        records = _json(enricher, "/api/v1.0/stats/" + spec.uuid)
        assert len(records) >= 4, records
        cpu = [r["cpu"]["time"] for r in records]
        assert cpu == sorted(cpu) and cpu[-1] > cpu[0], cpu
        times = [r["timestamp"] for r in records]
        assert all(0.5 < b - a < 2.0 for a, b in zip(times, times[1:], strict=False)), times
        assert records[-1]["tenancy"]["instance_uuid"] == spec.uuid
        assert records[-1]["tenancy"]["project_name"] == spec.project_name


def test_live_block_and_net_samples_match_metrics_of_the_same_snapshot(
        enricher: EnricherProcess, e2e_domains: dict[str, E2EDomain]) -> None:
    samples = parse(enricher.scrape())
    live = _json(enricher, "/api/v1.0/stats?live=true")
    collected = samples["enricher_collection_timestamp_seconds"][0].value
    pairs = {"libvirt_domain_block_read_bytes_total": ("blocks", "device", "rd.bytes"),
             "libvirt_domain_block_write_bytes_total": ("blocks", "device", "wr.bytes"),
             "libvirt_domain_block_read_requests_total": ("blocks", "device", "rd.reqs"),
             "libvirt_domain_block_capacity_bytes": ("blocks", "device", "capacity"),
             "libvirt_domain_block_physical_bytes": ("blocks", "device", "physical"),
             "libvirt_domain_net_receive_bytes_total": ("nets", "interface", "rx.bytes"),
             "libvirt_domain_net_transmit_packets_total": ("nets", "interface", "tx.pkts")}
    checked = nonzero = 0
    for spec in e2e_domains.values():
        (record,) = live[spec.uuid]
        assert abs(record["timestamp"] - collected) < 1e-3  # the same snapshot
        for family, (devices, label, key) in pairs.items():
            exported = {s.labels[label]: s.value for s in samples.get(family, [])
                        if s.labels["uuid"] == spec.uuid}
            served = {d["name"]: d[key] for d in record[devices] if key in d}
            assert exported and served == exported, (family, served, exported)
            checked += 1
            nonzero += any(served.values())
        cpu = next(s.value for s in samples["libvirt_domain_cpu_time_seconds_total"]
                   if s.labels["uuid"] == spec.uuid)
        assert record["cpu"]["time"] / 1e9 == pytest.approx(cpu)
        # The history's carried groups are the full collection's.
        newest = _json(enricher, "/api/v1.0/stats/" + spec.uuid)[-1]
        assert newest["blocks"] == record["blocks"]
    assert checked == len(pairs) * len(e2e_domains)
    assert nonzero >= len(e2e_domains)  # not only idle counters that are 0 on both sides


def test_specs_of_real_guests(enricher: EnricherProcess,
                              e2e_domains: dict[str, E2EDomain]) -> None:
    for spec in e2e_domains.values():
        served = _json(enricher, "/api/v1.0/specs/" + spec.uuid)
        assert served["domain"]["uuid"]["#text"] == spec.uuid
        assert served["tenancy"]["project_name"] == spec.project_name
        assert served["domain"]["devices"]["disk"]
