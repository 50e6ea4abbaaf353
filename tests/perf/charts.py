"""SVG charts of benchmark data files (``bench real --json``, ``bench testdriver --json``).

``python -m tests.perf.charts OUTDIR FILE...`` writes them; the docs build
(doc/source/_exts/bench_charts.py) draws them from doc/source/_data.
Output is deterministic (fixed SVG ids, no dates) so that rebuilds of the
same data give the same files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

plt.rcParams.update({"svg.hashsalt": "enricher", "svg.fonttype": "none",
                     "font.size": 9, "figure.figsize": (6.4, 3.4)})
METADATA = {"Date": None, "Creator": None}
COLOURS = {"exporter": "#4c72b0", "libvirtd": "#dd8452", "qemu_main": "#55a868"}
LABELS = {"exporter": "exporter process", "libvirtd": "libvirtd",
          "qemu_main": "QEMU main loops"}


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if "rows" not in data and "results" not in data:
        raise ValueError("%s: neither bench real (rows) nor bench testdriver (results)" % path)
    return data


def _conditions(rows: Sequence[dict[str, Any]]) -> list[str]:
    return ["%s ×%d" % (r["condition"], r["scrapers"]) for r in rows]


def host_cpu(real: dict[str, Any], out: Path) -> Path:
    """Stacked bars: exporter, libvirtd and QEMU main-loop CPU per condition."""
    rows = [r for r in real["rows"] if r.get("host_main") is not None]
    names = _conditions(rows)
    fig, ax = plt.subplots()
    bottom = [0.0] * len(rows)
    for role in ("exporter", "libvirtd", "qemu_main"):
        values = [r[role] or 0.0 for r in rows]
        ax.bar(names, values, bottom=bottom, label=LABELS[role], color=COLOURS[role])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for index, row in enumerate(rows):
        if row.get("host_main_range"):
            low, high = row["host_main_range"]
            ax.plot([index, index], [low, high], color="black", linewidth=1)
    ax.set_ylabel("CPU-seconds per minute, net of idle")
    ax.set_title("Whole host without vCPU threads, %s guests" % real["args"].get("vms", "?"))
    ax.legend(frameon=False)
    ax.tick_params(axis="x", labelrotation=20)
    return _save(fig, out / "host-cpu.svg")


def scrape_latency(real: dict[str, Any], out: Path) -> Path:
    """Scrape p50 and p95 per condition, log scale."""
    rows = [r for r in real["rows"] if r.get("p50_ms") is not None]
    names = _conditions(rows)
    fig, ax = plt.subplots()
    positions = range(len(rows))
    ax.bar([p - 0.2 for p in positions], [r["p50_ms"] for r in rows], width=0.4,
           label="p50", color="#4c72b0")
    ax.bar([p + 0.2 for p in positions], [r["p95_ms"] for r in rows], width=0.4,
           label="p95", color="#8172b3")
    ax.set_xticks(list(positions), names)
    ax.set_yscale("log")
    ax.set_ylabel("scrape latency, ms (log)")
    ax.set_title("GET /metrics, %s guests" % real["args"].get("vms", "?"))
    ax.legend(frameon=False)
    ax.tick_params(axis="x", labelrotation=20)
    return _save(fig, out / "scrape-latency.svg")


def rss_by_domains(runs: Sequence[dict[str, Any]], out: Path) -> Path:
    """RSS and peak RSS of the enricher against the number of domains."""
    points = sorted((int(run["args"]["domains"]), result["rss_mib"], result["hwm_mib"],
                     run.get("test_driver_mib"))
                    for run in runs for result in run["results"][:1])
    fig, ax = plt.subplots()
    xs = [p[0] for p in points]
    ax.plot(xs, [p[1] for p in points], marker="o", label="RSS (VmRSS)", color="#4c72b0")
    ax.plot(xs, [p[2] for p in points], marker="s", linestyle="--", label="peak (VmHWM)",
            color="#c44e52")
    if all(p[3] is not None for p in points):
        # libvirt's test driver keeps the node's domains in the client's process.
        ax.plot(xs, [p[1] - p[3] for p in points], marker="^", linestyle=":",
                label="RSS without the in-process test driver", color="#55a868")
    ax.set_xlabel("domains (libvirt test driver)")
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.set_title("Enricher memory against domains")
    ax.legend(frameon=False)
    return _save(fig, out / "rss-domains.svg")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata=METADATA)
    plt.close(fig)
    return path


def draw(files: Sequence[Path], out: Path) -> list[Path]:
    """Every chart the data files allow, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data = [load(path) for path in sorted(files)]
    real = [d for d in data if "rows" in d]
    testdriver = [d for d in data if "results" in d]
    written = []
    if real:
        written += [host_cpu(real[-1], out), scrape_latency(real[-1], out)]
    if testdriver:
        written.append(rss_by_domains(testdriver, out))
    return written


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m tests.perf.charts OUTDIR FILE...", file=sys.stderr)
        return 2
    for path in draw([Path(a) for a in argv[1:]], Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
