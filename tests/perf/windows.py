"""Measurement windows: idle baseline or one exporter scraped on a schedule."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tests.e2e.harness import procs
from tests.perf import cpu, goexporter, scrape, targets

LOG = logging.getLogger(__name__)

IDLE, ENRICHER, GO = "idle", "enricher", "go"
# The enricher with [libvirt] cpu_time_from_cgroup and vcpu_times_from_proc = false
# (CPU and vCPU times from libvirt's stats groups), for an in-run A/B.
ENRICHER_LIBVIRT_CPU = "enricher-libvirt-cpu"
ENRICHER_BASELINE = "enricher-baseline"  # another checkout's code (--baseline-source)
ENRICHER_INOVEX = "enricher-inovex"  # [prometheus] metric_names = inovex (--ab-inovex)
# The enricher with [statsd] enabled, sending to a local sink (--ab-statsd).
ENRICHER_STATSD = "enricher-statsd"
# The enricher with [api] enabled = false (no vm_up, history or event history),
# and with the 1 s history of vAdvisor ([api] history_interval = 1) (--ab-api).
ENRICHER_API_OFF = "enricher-api-off"
ENRICHER_HISTORY_1S = "enricher-history-1s"
API_CONDITIONS = (ENRICHER_API_OFF, ENRICHER_HISTORY_1S)
ENRICHERS = (ENRICHER, ENRICHER_LIBVIRT_CPU, ENRICHER_BASELINE, ENRICHER_INOVEX,
             ENRICHER_STATSD, *API_CONDITIONS)
# Options of a condition beyond the shared ones (appended before the [libvirt] ones).
CONDITION_OPTIONS = {ENRICHER_INOVEX: "[prometheus]\nmetric_names = inovex\n[libvirt]\n",
                     ENRICHER_API_OFF: "[api]\nenabled = false\n[libvirt]\n",
                     ENRICHER_HISTORY_1S: "[api]\nhistory_interval = 1\n[libvirt]\n"}
# Every process libvirt runs for the host: the monolithic daemon or the modular ones.
DAEMONS = ("libvirtd", "virtqemud", "virtlogd", "virtproxyd")
ROLES = ("exporter", "libvirtd", "qemu", "qemu_vcpu")


def daemon_pids() -> list[int]:
    return [pid for name in DAEMONS for pid in procs.pids_named(name)]


@dataclasses.dataclass(frozen=True)
class WindowConfig:
    """How every exporter window is run."""

    uri: str
    seconds: float
    scrape_interval: float
    interval: float  # the enricher's [DEFAULT] interval
    workdir: Path
    stats_groups: tuple[str, ...] | None = None
    go_nova_metadata: bool = True
    settle: float = 1.0
    daemons: Callable[[], Iterable[int]] = daemon_pids
    enricher_extra: str = ""  # appended to the enricher's config file; ends in [libvirt]
    baseline_source: Path | None = None  # the checkout ENRICHER_BASELINE runs
    statsd_conf: str = ""  # the [statsd] section of ENRICHER_STATSD


@dataclasses.dataclass
class Window:
    """One measured window: CPU seconds per role and what the scrapes saw."""

    round: int
    condition: str
    scrapers: int
    seconds: float
    cpu: dict[str, float]
    latencies: list[float] = dataclasses.field(default_factory=list)
    body_bytes: list[int] = dataclasses.field(default_factory=list)
    wire_bytes: list[int] = dataclasses.field(default_factory=list)
    collection: list[float] = dataclasses.field(default_factory=list)
    series: int | None = None
    domains: int | None = None
    foreign_domains: int = 0

    def rate(self, role: str) -> float:
        """CPU cores used by ``role`` on average in this window."""
        return self.cpu.get(role, 0.0) / self.seconds


@contextlib.contextmanager
def launch(condition: str, config: WindowConfig) -> Iterator[targets.Target]:
    if condition in ENRICHERS:
        host = condition != ENRICHER_LIBVIRT_CPU
        # The group header again: the extra text may end in any group (or none).
        options = f"[libvirt]\ncpu_time_from_cgroup = {host}\nvcpu_times_from_proc = {host}\n"
        source = config.baseline_source if condition == ENRICHER_BASELINE else None
        extra = config.enricher_extra + CONDITION_OPTIONS.get(condition, "")
        if condition == ENRICHER_STATSD:
            options += config.statsd_conf
        with targets.enricher(config.workdir, config.uri, config.interval,
                              config.stats_groups, extra + options,
                              source=source) as target:
            yield target
    else:
        with goexporter.go_exporter(config.workdir, config.uri,
                                    config.go_nova_metadata) as target:
            yield target


def meter(exporter_pids: Callable[[], Iterable[int]], config: WindowConfig,
          qemu_pids: Callable[[], Iterable[int]]) -> cpu.CpuMeter:
    return cpu.CpuMeter({"exporter": exporter_pids, "libvirtd": config.daemons,
                         "qemu": qemu_pids, "qemu_vcpu": qemu_pids})


def idle_window(round_: int, config: WindowConfig,
                qemu_pids: Callable[[], Iterable[int]]) -> Window:
    """Nothing scrapes: the baseline CPU of libvirtd and the guests."""
    m = meter(list, config, qemu_pids)
    start = m.read()
    time.sleep(config.seconds)
    end = m.read()
    return Window(round_, IDLE, 0, end.at - start.at, m.delta(start, end))


def exporter_window(round_: int, condition: str, scrapers: int, config: WindowConfig,
                    qemu_pids: Callable[[], Iterable[int]],
                    foreign: Callable[[], int] = lambda: 0) -> Window:
    """Start the exporter, warm it up, then measure ``seconds`` of scheduled scrapes."""
    with launch(condition, config) as target:
        warm = scrape.scrape(target.url)
        if warm.status != 200:
            raise RuntimeError(f"{condition} answered {warm.status}\n{target.log_tail()}")
        time.sleep(config.settle)
        m = meter(lambda: [target.pid], config, qemu_pids)
        start = m.read()
        done = scrape.run_schedule(target.url, config.seconds, config.scrape_interval,
                                   scrapers, start=start.at)
        end = m.read()
        if target.proc.poll() is not None:
            raise RuntimeError(f"{condition} died during the window\n{target.log_tail()}")
    window = Window(round_, condition, scrapers, end.at - start.at, m.delta(start, end),
                    latencies=[s.latency for s in done],
                    body_bytes=[len(s.body) for s in done],
                    wire_bytes=[s.wire_bytes for s in done],
                    collection=[c for s in done if (c := s.collection_duration) is not None],
                    foreign_domains=foreign())
    if done:
        parsed = scrape.parse(done[0].body)
        window.series, window.domains = parsed.series, parsed.domains
    return window
