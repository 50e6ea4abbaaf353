"""libvirt-python, imported once for the whole enricher.

Only modules under ``enricher/libvirt/`` use it; the rest of the enricher
sees the project's exceptions (``enricher.exceptions``, translated by
``enricher.libvirt.errors``) and constants (``enricher.libvirt.constants``).
``libvirt`` is None without libvirt-python, so that the configuration and
docs tooling import without it.
"""

from __future__ import annotations

try:
    import libvirt
except ImportError:  # pragma: no cover - exercised only without libvirt-python
    libvirt = None  # type: ignore[assignment]

__all__ = ["libvirt"]
