"""The one place a ``libvirtError`` is classified and turned into a project exception.

Every libvirt call made outside ``enricher/libvirt/`` runs inside
``translated()``, so the rest of the enricher catches ``enricher.exceptions``
types only. A disconnection is told apart from a failure of one domain by
error code and error domain, as ceilometer's ``is_disconnection_exception``
does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from enricher import exceptions
from enricher.libvirt.binding import libvirt

# Error codes that mean the connection itself is gone when they come from
# the remote driver or the RPC layer (not from one domain's hypervisor).
_DISCONNECT_CODES = (
    "VIR_ERR_SYSTEM_ERROR",
    "VIR_ERR_INTERNAL_ERROR",
    "VIR_ERR_NO_CONNECT",
    "VIR_ERR_INVALID_CONN",
    "VIR_ERR_RPC",
    "VIR_ERR_AUTH_FAILED",
    "VIR_ERR_AUTH_UNAVAILABLE",
)
_DISCONNECT_DOMAINS = ("VIR_FROM_REMOTE", "VIR_FROM_RPC")
# Codes that mean a lost connection whatever the error domain.
_NO_CONNECTION = ("VIR_ERR_NO_CONNECT", "VIR_ERR_INVALID_CONN")

# The other classes, by libvirt error code name.
_CLASSES: tuple[tuple[str, type[exceptions.LibvirtError]], ...] = (
    ("VIR_ERR_NO_DOMAIN", exceptions.DomainGone),
    ("VIR_ERR_NO_SUPPORT", exceptions.LibvirtUnsupported),
    ("VIR_ERR_ARGUMENT_UNSUPPORTED", exceptions.LibvirtUnsupported),
    ("VIR_ERR_OPERATION_UNSUPPORTED", exceptions.LibvirtUnsupported),
    ("VIR_ERR_OPERATION_DENIED", exceptions.LibvirtDenied),
    ("VIR_ERR_ACCESS_DENIED", exceptions.LibvirtDenied),
    ("VIR_ERR_OPERATION_INVALID", exceptions.DomainInactive),  # "domain is not running"
    ("VIR_ERR_AGENT_UNRESPONSIVE", exceptions.NoGuestAgent),
    ("VIR_ERR_AGENT_UNSYNCED", exceptions.NoGuestAgent),
    ("VIR_ERR_NO_DOMAIN_METADATA", exceptions.NoDomainMetadata),
)


def _codes(names: tuple[str, ...]) -> frozenset[int]:
    """The values of the named constants this libvirt-python has."""
    if libvirt is None:
        return frozenset()
    return frozenset(getattr(libvirt, n) for n in names if hasattr(libvirt, n))


_DISCONNECT = _codes(_DISCONNECT_CODES)
_REMOTE = _codes(_DISCONNECT_DOMAINS)
_ALWAYS_DISCONNECT = _codes(_NO_CONNECTION)
_BY_CODE = ({} if libvirt is None else
            {getattr(libvirt, n): cls for n, cls in _CLASSES if hasattr(libvirt, n)})
_INVALID_ARG = getattr(libvirt, "VIR_ERR_INVALID_ARG", None)
# What ``except`` catches: nothing without libvirt-python.
_LIBVIRT_ERROR: type[Exception] | tuple[()] = (
    libvirt.libvirtError if libvirt is not None else ())


def is_disconnection(exc: BaseException) -> bool:
    """True when a libvirtError says the connection, not a domain, failed."""
    if not isinstance(exc, _LIBVIRT_ERROR):
        return False
    code = exc.get_error_code()
    return code in _ALWAYS_DISCONNECT or (
        code in _DISCONNECT and exc.get_error_domain() in _REMOTE)


def classify(exc: libvirt.libvirtError) -> exceptions.LibvirtError:
    """The project exception that says what ``exc`` means (returned, not raised).

    It carries ``exc``'s message and error code, and ``exc`` as its cause.
    """
    if is_disconnection(exc):
        cls: type[exceptions.LibvirtError] = exceptions.LibvirtDisconnected
    else:
        cls = _BY_CODE.get(exc.get_error_code(), exceptions.LibvirtError)
    error = cls(str(exc))
    error.code = exc.get_error_code()
    error.__cause__ = exc
    return error


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Raise the classified project exception for any libvirtError in the block."""
    try:
        yield
    except _LIBVIRT_ERROR as exc:
        raise classify(exc) from exc


def refused_flags(error: exceptions.LibvirtError) -> bool:
    """True when libvirt refused a call's flags: unsupported, or unknown to it.

    libvirt reports flags it does not know (``virCheckFlags``) as an invalid
    argument, which is not "unsupported" for calls in general.
    """
    return (isinstance(error, exceptions.LibvirtUnsupported)
            or (_INVALID_ARG is not None and error.code == _INVALID_ARG))
