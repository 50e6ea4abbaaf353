"""glibc malloc tuning for a long-running, multi-threaded exporter.

glibc gives each thread that allocates its own malloc arena (up to eight per
core), and memory freed in one arena is not reused by the others. The
enricher's threads (sampler, HTTP server, event loop, extra-stats workers)
each build and drop short-lived buffers, so its resident memory grows with
the thread count rather than with its data. Two arenas keep the contention
low and the footprint small; an operator's ``MALLOC_ARENA_MAX`` wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

LOG = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's <malloc.h>
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas before any thread starts; False if not applied."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, arenas) == 1
