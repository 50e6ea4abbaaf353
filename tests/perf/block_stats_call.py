"""virDomainBlockStatsFlags in one call, through libvirt's C library (a bench probe).

libvirt-python's ``virDomain.blockStatsFlags`` calls the C function twice
per disk: once with no buffer to learn how many fields there are, then to
fetch them. Over a ``qemu://`` connection each call is an RPC to libvirtd
and a ``query-blockstats`` QMP round trip into the guest's QEMU, so the
count costs as much as the answer. This module passes a buffer big enough
for every field libvirt knows (``REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX``
is 16), so one call is one RPC and one round trip.

It calls the same ``libvirt.so.0`` that libvirt-python has loaded, on the
domain handle libvirt-python exposes for this purpose
(``virDomain.c_pointer()``); failures raise ``libvirt.libvirtError`` built
from the calling thread's libvirt error, as libvirt-python's own would.

The enricher used it for a while to refresh single-disk guests' counters
between slow collections (1b7734a) and dropped it: at 40 guests the QEMU
time it saved was matched by the 40 extra RPCs' cost in the calling process
(see doc/source/performance.rst). The benchmark keeps it to measure what one
call costs.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

import libvirt

LOG = logging.getLogger(__name__)

MAX_FIELDS = 16  # REMOTE_DOMAIN_BLOCK_STATS_PARAMETERS_MAX
_FIELD_LENGTH = 80  # VIR_TYPED_PARAM_FIELD_LENGTH


class _Value(ctypes.Union):
    _fields_ = [("i", ctypes.c_int), ("ui", ctypes.c_uint), ("l", ctypes.c_longlong),
                ("ul", ctypes.c_ulonglong), ("d", ctypes.c_double), ("b", ctypes.c_char),
                ("s", ctypes.c_char_p)]


class _TypedParameter(ctypes.Structure):
    """``virTypedParameter``: a name, a type and a value."""

    _fields_ = [("field", ctypes.c_char * _FIELD_LENGTH), ("type", ctypes.c_int),
                ("value", _Value)]


# VIR_TYPED_PARAM_* -> the union member holding that type.
_MEMBERS = {1: "i", 2: "ui", 3: "l", 4: "ul", 5: "d", 6: "b", 7: "s"}


def _load() -> Any:
    """libvirt's C library with the two functions typed, or None if unavailable."""
    if not hasattr(libvirt.virDomain, "c_pointer"):
        return None
    try:
        lib = ctypes.CDLL("libvirt.so.0")
        call = lib.virDomainBlockStatsFlags
        clear = lib.virTypedParamsClear
    except (OSError, AttributeError) as exc:
        LOG.info("libvirt.so.0 cannot be called directly: %s", exc)
        return None
    call.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(_TypedParameter),
                     ctypes.POINTER(ctypes.c_int), ctypes.c_uint]
    call.restype = ctypes.c_int
    clear.argtypes = [ctypes.POINTER(_TypedParameter), ctypes.c_int]
    clear.restype = None
    return lib


_LIB = _load()


def available() -> bool:
    """True if :func:`block_stats` can be called."""
    return _LIB is not None


def block_stats(dom: Any, disk: str) -> dict[str, Any]:
    """``disk``'s I/O statistics, as libvirt-python's ``blockStatsFlags(disk, 0)``.

    Keys are libvirt's field names (``rd_bytes``, ``wr_total_times``, ...).
    Raises ``libvirt.libvirtError`` when libvirt fails (domain gone, disk
    unknown, connection lost) and ``RuntimeError`` if unavailable.
    """
    if _LIB is None:
        raise RuntimeError("virDomainBlockStatsFlags cannot be called directly here")
    params = (_TypedParameter * MAX_FIELDS)()
    count = ctypes.c_int(MAX_FIELDS)
    rc = _LIB.virDomainBlockStatsFlags(ctypes.c_void_p(dom.c_pointer()), disk.encode(),
                                       params, ctypes.byref(count), 0)
    if rc < 0:
        # libvirtError reads this thread's last libvirt error, set by the call.
        raise libvirt.libvirtError("virDomainBlockStatsFlags() failed")
    try:
        out: dict[str, Any] = {}
        for param in params[:count.value]:
            member = _MEMBERS.get(param.type)
            if member is None:
                continue
            value = getattr(param.value, member)
            if member == "s":
                value = value.decode(errors="replace") if value is not None else ""
            elif member == "b":
                value = value != b"\x00"
            out[param.field.decode(errors="replace")] = value
        return out
    finally:
        _LIB.virTypedParamsClear(params, count.value)
