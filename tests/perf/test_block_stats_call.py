"""The bench's one-call virDomainBlockStatsFlags probe, against libvirt's test driver.

The test driver has no block statistics, so what runs here is the failure
path: libvirt's error reaches Python as a libvirtError carrying libvirt's
code, also from a worker thread (the error is thread-local in libvirt). The
values path needs QEMU: the benchmark smoke test calls it on real guests
(its one-call_blockStatsFlags_per_domain row).
"""

from __future__ import annotations

import concurrent.futures
import ctypes

import libvirt
import pytest

from tests.perf import block_stats_call


@pytest.fixture
def dom():
    conn = libvirt.open("test:///default")
    yield conn.lookupByName("test")
    conn.close()


def test_the_binding_loads_with_this_libvirt() -> None:
    assert block_stats_call.available()


def test_typed_parameter_has_libvirts_layout() -> None:
    # char field[80]; int type; union (8 bytes, 8-aligned) -> 96 bytes.
    assert ctypes.sizeof(block_stats_call._TypedParameter) == 96
    assert block_stats_call._TypedParameter.value.offset == 88


def test_libvirts_error_is_raised_with_its_code(dom) -> None:
    with pytest.raises(libvirt.libvirtError) as caught:
        block_stats_call.block_stats(dom, "vda")
    assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
    assert "virDomainBlockStatsFlags" in str(caught.value)


def test_the_error_is_the_calling_threads(dom) -> None:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        future = pool.submit(block_stats_call.block_stats, dom, "vda")
        with pytest.raises(libvirt.libvirtError) as caught:
            future.result()
    assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT
