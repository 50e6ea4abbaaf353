"""Turn measured windows into medians per exporter, net of the idle baseline."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tests.perf import report
from tests.perf.windows import IDLE, Window


@dataclasses.dataclass
class Row:
    """Medians over the rounds of one (exporter, scrapers) condition."""

    condition: str
    scrapers: int
    windows: int
    exporter: float | None       # CPU-seconds per minute, the exporter process
    libvirtd: float | None       # net of idle
    qemu: float | None           # net of idle, every thread of every guest's QEMU
    qemu_main: float | None      # net of idle, QEMU without its vCPU threads
    host: float | None           # exporter + libvirtd + qemu
    host_main: float | None      # exporter + libvirtd + qemu_main
    host_range: tuple[float, float] | None
    host_main_range: tuple[float, float] | None
    p50_ms: float | None
    p95_ms: float | None
    body_kib: float | None
    wire_kib: float | None
    series: float | None
    series_per_vm: float | None
    domains: float | None
    collection_ms: float | None
    foreign: float | None

    @property
    def label(self) -> str:
        return f"{self.condition}x{self.scrapers}"


def baseline(windows: Sequence[Window]) -> dict[str, float]:
    """Median idle CPU cores per role."""
    idle = [w for w in windows if w.condition == IDLE]
    roles = ("libvirtd", "qemu", "qemu_vcpu")
    return {role: report.median(w.rate(role) for w in idle) or 0.0 for role in roles}


def _per_minute(w: Window, base: dict[str, float]) -> dict[str, float]:
    exporter = w.rate("exporter")
    libvirtd = w.rate("libvirtd") - base["libvirtd"]
    qemu = w.rate("qemu") - base["qemu"]
    vcpu = w.rate("qemu_vcpu") - base["qemu_vcpu"]
    main = qemu - vcpu
    return {k: v * 60 for k, v in {
        "exporter": exporter, "libvirtd": libvirtd, "qemu": qemu, "qemu_main": main,
        "host": exporter + libvirtd + qemu, "host_main": exporter + libvirtd + main}.items()}


def rows(windows: Sequence[Window], vms: int) -> list[Row]:
    """One Row per (exporter, scrapers) condition, in first-seen order."""
    base = baseline(windows)
    keys: list[tuple[str, int]] = []
    for w in windows:
        if w.condition != IDLE and (w.condition, w.scrapers) not in keys:
            keys.append((w.condition, w.scrapers))
    out = []
    for condition, scrapers in keys:
        group = [w for w in windows if (w.condition, w.scrapers) == (condition, scrapers)]
        per_min = [_per_minute(w, base) for w in group]
        lat = [x for w in group for x in w.latencies]
        series = report.median(w.series for w in group)
        out.append(Row(
            condition, scrapers, len(group),
            *(report.median(p[k] for p in per_min)
              for k in ("exporter", "libvirtd", "qemu", "qemu_main", "host", "host_main")),
            report.spread(p["host"] for p in per_min),
            report.spread(p["host_main"] for p in per_min),
            _ms(report.percentile(lat, 50)), _ms(report.percentile(lat, 95)),
            _kib(report.median(b for w in group for b in w.body_bytes)),
            _kib(report.median(b for w in group for b in w.wire_bytes)),
            series, series / vms if series is not None and vms else None,
            report.median(w.domains for w in group),
            _ms(report.median(c for w in group for c in w.collection)),
            report.median(w.foreign_domains for w in group)))
    return out


def _ms(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


def _kib(count: float | None) -> float | None:
    return count / 1024 if count is not None else None


HEADERS = ("exporter", "rounds", "exp_s/min", "libvirtd_s/min", "qemu_s/min",
           "qemu_main_s/min", "host_s/min", "host_main_s/min", "host_min..max",
           "host_main_min..max",
           "p50_ms", "p95_ms", "body_KiB", "gzip_KiB", "series", "series/VM", "domains",
           "collect_ms", "foreign")


def cpu_table(result_rows: Sequence[Row], title: str) -> str:
    f = report.fmt
    body = []
    for r in result_rows:
        span = f"{r.host_range[0]:.2f}..{r.host_range[1]:.2f}" if r.host_range else None
        span_main = (f"{r.host_main_range[0]:.2f}..{r.host_main_range[1]:.2f}"
                     if r.host_main_range else None)
        body.append([r.label, str(r.windows), f(r.exporter, 2), f(r.libvirtd, 2),
                     f(r.qemu, 2), f(r.qemu_main, 2), f(r.host, 2), f(r.host_main, 2),
                     f(span), f(span_main), f(r.p50_ms), f(r.p95_ms), f(r.body_kib), f(r.wire_kib),
                     f(r.series, 0), f(r.series_per_vm), f(r.domains, 0),
                     f(r.collection_ms) if r.condition.startswith("enricher") else "n/a",
                     f(r.foreign, 0)])
    return report.table(HEADERS, body, title)


def ratios(result_rows: Sequence[Row]
           ) -> list[tuple[int, str, float | None, float | None]]:
    """(scrapers, enricher condition, enricher/Go whole-host, the same without vCPU threads)."""
    out = []
    by = {(r.condition, r.scrapers): r for r in result_rows}
    for (condition, scrapers), enr in by.items():
        go = by.get(("go", scrapers))
        if not condition.startswith("enricher") or go is None:
            continue
        out.append((scrapers, condition, _ratio(enr.host, go.host),
                    _ratio(enr.host_main, go.host_main)))
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def ratio_table(result_rows: Sequence[Row], title: str) -> str:
    body = [[str(s), c, report.fmt(r, 2), report.fmt(m, 2)]
            for s, c, r, m in ratios(result_rows)]
    return report.table(("scrapers", "exporter", "enricher/go_host", "enricher/go_host_main"),
                        body, title)


def baseline_table(windows: Sequence[Window], vms: int, title: str) -> str:
    base = baseline(windows)
    rows_ = [[role, report.fmt(base[role] * 60, 2),
              report.fmt(base[role] * 100 / vms, 2) if role != "libvirtd" and vms else "n/a"]
             for role in ("libvirtd", "qemu", "qemu_vcpu")]
    return report.table(("role", "idle_s/min", "idle_%core/VM"), rows_, title)
