"""``job_stats_background`` / ``job_stats_completed``: progress of a domain's job.

Migrations are the main case; dumps, saves and backups report the same way.
``background`` is the job running now, ``completed`` the last one that ended
(libvirt keeps it for migrations and live dumps). Both may be enabled; the
``kind`` label tells them apart.
"""

from __future__ import annotations

from typing import Any

from enricher.extra.base import Point, Selector, number
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

# typed-parameter field -> (family name, scale)
FIELDS = {
    "time_elapsed": ("libvirt_domain_job_time_elapsed_seconds", MS),
    "time_remaining": ("libvirt_domain_job_time_remaining_seconds", MS),
    "downtime": ("libvirt_domain_job_downtime_seconds", MS),
    "data_total": ("libvirt_domain_job_data_total_bytes", 1),
    "data_processed": ("libvirt_domain_job_data_processed_bytes", 1),
    "data_remaining": ("libvirt_domain_job_data_remaining_bytes", 1),
    "memory_total": ("libvirt_domain_job_memory_total_bytes", 1),
    "memory_processed": ("libvirt_domain_job_memory_processed_bytes", 1),
    "memory_remaining": ("libvirt_domain_job_memory_remaining_bytes", 1),
    "memory_bps": ("libvirt_domain_job_memory_bandwidth_bytes_per_second", 1),
    "memory_dirty_rate": ("libvirt_domain_job_memory_dirty_rate_pages_per_second", 1),
    "memory_iteration": ("libvirt_domain_job_memory_iterations", 1),
    "disk_total": ("libvirt_domain_job_disk_total_bytes", 1),
    "disk_processed": ("libvirt_domain_job_disk_processed_bytes", 1),
    "disk_remaining": ("libvirt_domain_job_disk_remaining_bytes", 1),
}


def _name(names: tuple[str, ...], code: Any) -> str:
    return names[code] if isinstance(code, int) and 0 <= code < len(names) else str(code)


def job_points(kind: str, stats: dict[str, Any]) -> list[Point]:
    """The points of one ``virDomainGetJobStats`` answer; none when there is no job."""
    job_type = stats.get("type", 0)
    if not job_type:
        return []
    points = [Point(INFO, 1, (kind, _name(TYPE_NAMES, job_type),
                              _name(OPERATION_NAMES, stats.get("operation", 0))))]
    for field, (name, scale) in FIELDS.items():
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

    calls = True

    def __init__(self, completed: bool) -> None:
        self.name = COMPLETED if completed else BACKGROUND
        self._kind = "completed" if completed else "background"
        self._flags = constants.JOB_STATS_COMPLETED if completed else 0

    def call(self, dom: Any, sample: Any) -> list[Point]:
        return job_points(self._kind, dom.jobStats(self._flags))
