"""``job_stats_background`` / ``job_stats_completed``: progress of a domain's job.

Migrations are the main case; dumps, saves and backups report the same way.
``background`` is the job running now, ``completed`` the last one that ended
(libvirt keeps it for migrations and live dumps). Both may be enabled; the
``kind`` label tells them apart.
"""

from __future__ import annotations

from typing import Any

from enricher.extra.base import GAUGE, ExtraFamily, Point, Selector, number
from enricher.libvirt import constants

BACKGROUND = "job_stats_background"
COMPLETED = "job_stats_completed"
MS = 1e-3

# virDomainJobType and virDomainJobOperation
TYPE_NAMES = ("none", "bounded", "unbounded", "completed", "failed", "cancelled")
OPERATION_NAMES = ("unknown", "start", "save", "restore", "migration_in", "migration_out",
                   "snapshot", "snapshot_revert", "dump", "backup", "snapshot_delete")

INFO = "libvirt_domain_job_info"
PROGRESS = "libvirt_domain_job_progress_ratio"

# typed-parameter field -> (family name, scale, help)
FIELDS = {
    "time_elapsed": ("libvirt_domain_job_time_elapsed_seconds", MS,
                     "Time since the job started, in seconds."),
    "time_remaining": ("libvirt_domain_job_time_remaining_seconds", MS,
                       "Estimated time until a bounded job ends, in seconds."),
    "downtime": ("libvirt_domain_job_downtime_seconds", MS,
                 "Time the domain was (or is expected to be) paused by the job, in seconds."),
    "data_total": ("libvirt_domain_job_data_total_bytes", 1,
                   "Bytes the job has to transfer in total (memory and disks)."),
    "data_processed": ("libvirt_domain_job_data_processed_bytes", 1,
                       "Bytes the job has transferred."),
    "data_remaining": ("libvirt_domain_job_data_remaining_bytes", 1,
                       "Bytes the job still has to transfer."),
    "memory_total": ("libvirt_domain_job_memory_total_bytes", 1,
                     "Memory the job has to transfer in total, in bytes."),
    "memory_processed": ("libvirt_domain_job_memory_processed_bytes", 1,
                         "Memory the job has transferred, in bytes."),
    "memory_remaining": ("libvirt_domain_job_memory_remaining_bytes", 1,
                         "Memory the job still has to transfer, in bytes."),
    "memory_bps": ("libvirt_domain_job_memory_bandwidth_bytes_per_second", 1,
                   "Memory transfer rate of the job, in bytes per second."),
    "memory_dirty_rate": ("libvirt_domain_job_memory_dirty_rate_pages_per_second", 1,
                          "Pages the guest dirties per second while the job runs."),
    "memory_iteration": ("libvirt_domain_job_memory_iterations", 1,
                         "Memory transfer iterations (passes) of the job so far."),
    "disk_total": ("libvirt_domain_job_disk_total_bytes", 1,
                   "Disk data the job has to transfer in total, in bytes."),
    "disk_processed": ("libvirt_domain_job_disk_processed_bytes", 1,
                       "Disk data the job has transferred, in bytes."),
    "disk_remaining": ("libvirt_domain_job_disk_remaining_bytes", 1,
                       "Disk data the job still has to transfer, in bytes."),
}

_SELECTORS = "%s, %s" % (BACKGROUND, COMPLETED)
FAMILIES = (
    ExtraFamily(INFO, GAUGE,
                "The domain's job: kind (background or completed), type (bounded, "
                "unbounded, completed, failed, cancelled) and operation (migration_out, "
                "dump, save, ...), always 1. Absent when there is no job.",
                _SELECTORS, ("kind", "type", "operation"), "job_stats/type, operation"),
    ExtraFamily(PROGRESS, GAUGE,
                "Share of the job's work done (0 to 1): 1 - remaining / total, of its data "
                "or, for memory-only jobs, of its memory.",
                _SELECTORS, ("kind",), "job_stats/data_remaining, data_total"),
) + tuple(ExtraFamily(name, GAUGE, doc, _SELECTORS, ("kind",), "job_stats/%s" % field)
          for field, (name, _scale, doc) in FIELDS.items())


def _name(names: tuple[str, ...], code: Any) -> str:
    return names[code] if isinstance(code, int) and 0 <= code < len(names) else str(code)


def job_points(kind: str, stats: dict[str, Any]) -> list[Point]:
    """The points of one ``virDomainGetJobStats`` answer; none when there is no job."""
    job_type = stats.get("type", 0)
    if not job_type:
        return []
    points = [Point(INFO, 1, (kind, _name(TYPE_NAMES, job_type),
                              _name(OPERATION_NAMES, stats.get("operation", 0))))]
    for field, (name, scale, _doc) in FIELDS.items():
        value = number(stats.get(field))
        if value is not None:
            points.append(Point(name, value * scale, (kind,)))
    progress = _progress(stats)
    if progress is not None:
        points.append(Point(PROGRESS, progress, (kind,)))
    return points


def _progress(stats: dict[str, Any]) -> float | None:
    """1 - remaining / total of the job's data, else of its memory.

    Remaining rather than processed: pages that are all zeros are skipped,
    not transferred, so processed stays below total even when done.
    """
    for prefix in ("data", "memory"):
        total = number(stats.get(prefix + "_total"))
        remaining = number(stats.get(prefix + "_remaining"))
        if total and remaining is not None:
            return min(1.0, max(0.0, 1 - remaining / total))
    return None


class JobStats(Selector):
    """One ``virDomainGetJobStats`` call per active domain for one kind of job."""

    families = FAMILIES
    calls = True

    def __init__(self, completed: bool) -> None:
        self.name = COMPLETED if completed else BACKGROUND
        self._kind = "completed" if completed else "background"
        self._flags = constants.JOB_STATS_COMPLETED if completed else 0

    def call(self, dom: Any, sample: Any) -> list[Point]:
        return job_points(self._kind, dom.jobStats(self._flags))
