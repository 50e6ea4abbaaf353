"""A private libvirtd for the benchmark, out of reach of concurrent test runs.

Other engineers' e2e runs scrape the shared libvirtd every second with their
own enrichers, which walk every domain, ours included: on a 2-core machine
that load is many times what we measure. So the benchmark runs its own
libvirtd and virtlogd in a private mount namespace, with tmpfs over the QEMU
driver's state and config directories (it neither sees nor touches anyone
else's guests) and its socket in our own directory
(``qemu:///system?socket=...``). The daemons run through symlinks named
``enr-bench-*`` so that tools looking for processes called ``libvirtd`` or
``virtlogd`` never mistake ours for the system's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import libvirt

from tests.e2e.harness import libvirtd, private_libvirtd, procs

LOG = logging.getLogger(__name__)

PREFIX = "enr-bench-"
LIBVIRTD_LINK = f"{PREFIX}libvirtd"
VIRTLOGD_LINK = f"{PREFIX}virtlogd"
# /proc/<pid>/comm keeps 15 characters.
COMMS = (LIBVIRTD_LINK[:15], VIRTLOGD_LINK[:15])
HIDDEN = ("/run/libvirt", "/var/lib/libvirt/qemu", "/etc/libvirt/qemu")
# QEMU capabilities, probed once; a root-only benchmark's cache, kept across runs.
CACHE = Path("/var/tmp/enr-bench-libvirt-cache")
SYSTEM_CACHE = "/var/cache/libvirt/qemu"
OWNER_FILE = "owner.pid"


class PrivateLibvirt(private_libvirtd.PrivateLibvirtd):
    """Our libvirtd, tmpfs over the QEMU driver's directories, plus its virtlogd."""

    logd: subprocess.Popen[bytes] | None = None
    domain_type: str = "kvm"

    def daemon_pids(self) -> list[int]:
        pids = [self.pid] + ([self.logd.pid] if self.logd else [])
        return [p for p in pids if procs.pid_alive(p)]

    @property
    def qemu_pid_dir(self) -> Path:
        """libvirt's QEMU pid files, as seen through the daemon's mount namespace."""
        return Path(f"/proc/{self.pid}/root/run/libvirt/qemu")


def _mounts() -> list[str]:
    return [f"mkdir -p {d} && mount -t tmpfs {PREFIX}state {d}" for d in HIDDEN] + [
        f"mkdir -p {SYSTEM_CACHE}", f"mount --bind {CACHE} {SYSTEM_CACHE}"]


def _logd_ready(daemon: PrivateLibvirt) -> bool:
    if daemon.logd is None or daemon.logd.poll() is not None:
        raise RuntimeError(f"private virtlogd exited: {daemon.output()}")
    return Path(f"/proc/{daemon.pid}/root/run/libvirt/virtlogd-sock").exists()


@contextlib.contextmanager
def running(timeout: float = 90.0) -> Iterator[PrivateLibvirt]:
    """Start our libvirtd + virtlogd; on exit destroy any guest left and stop both."""
    sweep_orphans()
    base = Path(tempfile.mkdtemp(prefix=f"{PREFIX}libvirt-"))
    (base / OWNER_FILE).write_text(str(os.getpid()))
    CACHE.mkdir(parents=True, exist_ok=True)
    os.symlink(libvirtd.LIBVIRTD, base / LIBVIRTD_LINK)
    os.symlink(libvirtd.VIRTLOGD, base / VIRTLOGD_LINK)
    for directory in libvirtd.RUNTIME_DIRS:
        Path(directory).mkdir(parents=True, exist_ok=True)
    daemon = PrivateLibvirt(base, _mounts(), conf=f'log_outputs = "3:file:{base}/libvirtd.log"\n',
                            binary=str(base / LIBVIRTD_LINK))
    try:
        daemon.start(timeout)
        # virtlogd joins the namespace once its tmpfs mounts exist, as our child
        # (so that we reap it), before any guest needs it.
        with (base / "daemon.out").open("ab") as out:
            daemon.logd = subprocess.Popen(
                ["nsenter", f"--mount=/proc/{daemon.pid}/ns/mnt", str(base / VIRTLOGD_LINK),
                 "-p", str(base / "virtlogd.pid")],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        procs.wait_until(lambda: _logd_ready(daemon), 30, what="the private virtlogd")
        conn = libvirtd.wait_for_connection(daemon.uri, timeout)
        try:
            daemon.domain_type = libvirtd.detect_domain_type(conn)
        finally:
            conn.close()
        yield daemon
    finally:
        stop(daemon)


def _destroy_all(uri: str) -> None:
    """Destroy every guest of a private libvirtd (all of them are benchmark guests)."""
    try:
        conn = libvirtd.open_connection(uri, 10)
    except (libvirt.libvirtError, procs.WaitTimeout) as exc:
        LOG.warning("cannot reach %s to destroy its guests: %s", uri, exc)
        return
    try:
        for dom in conn.listAllDomains(0):
            with contextlib.suppress(libvirt.libvirtError):
                dom.destroy()
    finally:
        conn.close()


def stop(daemon: PrivateLibvirt) -> None:
    """Destroy leftover guests, then stop virtlogd and libvirtd (by pid) and drop the dir."""
    if daemon.proc is not None and daemon.proc.poll() is None and daemon.socket.exists():
        _destroy_all(daemon.uri)
    daemon.stop()
    if daemon.logd is not None:
        procs.stop_process(daemon.logd)
    shutil.rmtree(daemon.root, ignore_errors=True)


def sweep_orphans() -> list[int]:
    """Stop private daemons (and their guests) whose benchmark process is gone."""
    stopped = []
    for comm in COMMS:
        for pid in procs.pids_named(comm):
            try:
                argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            base = Path(argv0.decode()).parent
            owner = procs.read_pid_file(base / OWNER_FILE)
            if owner and procs.pid_alive(owner):
                continue
            LOG.warning("stopping orphaned benchmark daemon %s (pid %s)", comm, pid)
            if comm == COMMS[0] and (base / "sock" / "libvirt-sock").exists():
                _destroy_all(f"qemu:///system?socket={base}/sock/libvirt-sock")
            procs.terminate_pid(pid)
            shutil.rmtree(base, ignore_errors=True)
            stopped.append(pid)
    return stopped
