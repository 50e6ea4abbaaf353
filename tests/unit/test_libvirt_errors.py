"""The one classification of libvirtError into the project's exceptions."""

from __future__ import annotations

import libvirt
import pytest

from enricher import exceptions
from enricher.libvirt import errors


def libvirt_error(code: int, domain: int = libvirt.VIR_FROM_QEMU,
                  message: str = "boom") -> libvirt.libvirtError:
    exc = libvirt.libvirtError(message)
    exc.err = (code, domain, message, 2, None, None, None, 0, 0)
    return exc


def assert_classified(code: int, domain: int, expected: type) -> None:
    exc = libvirt_error(code, domain, "what libvirt said")
    error = errors.classify(exc)
    assert type(error) is expected
    assert str(error) == "what libvirt said"
    assert error.code == code
    assert error.__cause__ is exc
    assert errors.is_disconnection(exc) == (expected is exceptions.LibvirtDisconnected)


# By code and error domain, as ceilometer's is_disconnection_exception tells them.
@pytest.mark.parametrize(("code", "domain"), [
    (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_FROM_REMOTE),
    (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_RPC),
    (libvirt.VIR_ERR_RPC, libvirt.VIR_FROM_RPC),
    (libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_FROM_REMOTE),
    (libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_FROM_NONE),
    (libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_FROM_QEMU),  # whatever the domain
])
def test_a_lost_connection_is_a_disconnection(code: int, domain: int) -> None:
    assert_classified(code, domain, exceptions.LibvirtDisconnected)


# From one domain's hypervisor, by code. The first two are disconnections from
# the remote driver or RPC layer (above), and an unknown code is a LibvirtError.
BY_CLASS = {
    exceptions.LibvirtError: (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR,
                              libvirt.VIR_ERR_INVALID_ARG),
    exceptions.DomainGone: (libvirt.VIR_ERR_NO_DOMAIN,),
    exceptions.LibvirtUnsupported: (libvirt.VIR_ERR_NO_SUPPORT,
                                    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                                    libvirt.VIR_ERR_OPERATION_UNSUPPORTED),
    exceptions.LibvirtDenied: (libvirt.VIR_ERR_OPERATION_DENIED, libvirt.VIR_ERR_ACCESS_DENIED),
    exceptions.DomainInactive: (libvirt.VIR_ERR_OPERATION_INVALID,),
    exceptions.NoGuestAgent: (libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
                              libvirt.VIR_ERR_AGENT_UNSYNCED),
    exceptions.NoDomainMetadata: (libvirt.VIR_ERR_NO_DOMAIN_METADATA,),
}


@pytest.mark.parametrize(("code", "expected"), [
    (code, cls) for cls, codes in BY_CLASS.items() for code in codes])
def test_a_domain_failure_is_classified_by_code(code: int, expected: type) -> None:
    assert_classified(code, libvirt.VIR_FROM_QEMU, expected)


def test_a_disconnection_is_libvirt_being_unavailable() -> None:
    error = errors.classify(libvirt_error(libvirt.VIR_ERR_NO_CONNECT))
    assert isinstance(error, exceptions.LibvirtUnavailable)


def test_missing_metadata_is_missing_metadata() -> None:
    error = errors.classify(libvirt_error(libvirt.VIR_ERR_NO_DOMAIN_METADATA))
    assert isinstance(error, exceptions.MetadataMissing)


def test_translated_raises_the_classified_error_with_its_cause() -> None:
    exc = libvirt_error(libvirt.VIR_ERR_NO_DOMAIN)
    with pytest.raises(exceptions.DomainGone) as raised, errors.translated():
        raise exc
    assert raised.value.__cause__ is exc


def test_translated_lets_other_exceptions_through() -> None:
    with pytest.raises(KeyError), errors.translated():
        raise KeyError("not libvirt's")


def test_refused_flags() -> None:
    for code in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                 libvirt.VIR_ERR_INVALID_ARG):
        assert errors.refused_flags(errors.classify(libvirt_error(code)))
    assert not errors.refused_flags(errors.classify(libvirt_error(libvirt.VIR_ERR_NO_DOMAIN)))
