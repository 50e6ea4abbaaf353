"""Start (or reuse) libvirtd serving qemu:///system, and stop what we started."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import libvirt

from tests.e2e.harness import procs

LOG = logging.getLogger(__name__)

URI = "qemu:///system"
LIBVIRTD = "/usr/sbin/libvirtd"
VIRTLOGD = "/usr/sbin/virtlogd"
LIBVIRT_SOCKET = "/var/run/libvirt/libvirt-sock"
QEMU_BINARIES = ("/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm")
PID_FILES = {"libvirtd": "/run/libvirtd.pid", "virtlogd": "/run/virtlogd.pid"}
# Directories a minimal image may lack; the daemons exit without them.
RUNTIME_DIRS = ("/var/log/libvirt", "/var/lib/libvirt", "/var/cache/libvirt")
# Set to "kvm" or "qemu" to force a domain type (e.g. to try TCG on a KVM host).
DOMAIN_TYPE_ENV = "ENRICHER_E2E_DOMAIN_TYPE"


@dataclasses.dataclass
class LibvirtHost:
    """A libvirtd serving ``uri``; ``started`` lists (name, pid) we launched."""

    uri: str
    domain_type: str
    started: list[tuple[str, int]]


def silence_error_handler() -> None:
    """Stop libvirt printing every (expected) error to stderr."""
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def missing_prerequisite() -> str | None:
    """Name what the e2e tests need and is not installed, or None."""
    if not Path(LIBVIRTD).exists():
        return f"{LIBVIRTD} is not installed (run tools/e2e-host-setup.sh)"
    if not any(Path(binary).exists() for binary in QEMU_BINARIES):
        return "qemu-system-x86_64 is not installed (run tools/e2e-host-setup.sh)"
    return None


def socket_answers(path: str = LIBVIRT_SOCKET) -> bool:
    """True if something accepts connections on the UNIX socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


def open_connection(uri: str, timeout: float) -> libvirt.virConnect:
    """Open ``uri``, giving up after ``timeout`` seconds even if the call blocks.

    The first connection to a fresh libvirtd blocks while it probes QEMU
    capabilities (about 8 s), so the call runs in a daemon thread.
    """
    outcome: dict[str, object] = {}

    def _open() -> None:
        try:
            outcome["conn"] = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=_open, name="libvirt-open", daemon=True)
    thread.start()
    thread.join(timeout)
    if "conn" in outcome:
        return outcome["conn"]  # type: ignore[return-value]
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    raise procs.WaitTimeout(f"libvirt.open({uri!r}) still blocked after {timeout:.0f}s")


def wait_for_connection(uri: str, timeout: float) -> libvirt.virConnect:
    """Retry :func:`open_connection` until ``uri`` answers or ``timeout`` passes."""
    last: list[str] = ["no attempt"]
    deadline = time.monotonic() + timeout

    def _probe() -> libvirt.virConnect | None:
        try:
            return open_connection(uri, max(1.0, deadline - time.monotonic()))
        except libvirt.libvirtError as exc:
            last[0] = str(exc)
            return None

    return procs.wait_until(
        _probe, timeout, what=f"{uri} to answer", interval=0.3, details=lambda: last[0]
    )


def detect_domain_type(conn: libvirt.virConnect) -> str:
    """Return "kvm" if /dev/kvm opens and libvirt offers KVM, else "qemu" (TCG)."""
    forced = os.environ.get(DOMAIN_TYPE_ENV)
    if forced:
        return forced
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        LOG.info("no usable /dev/kvm (%s): using TCG", exc)
        return "qemu"
    os.close(fd)
    return "kvm" if "<domain type='kvm'" in conn.getCapabilities() else "qemu"


def _daemon_pid(name: str) -> int | None:
    """Return the PID in ``name``'s pid file if that process is ``name`` and alive."""
    pid = procs.read_pid_file(PID_FILES[name])
    if pid and procs.pid_alive(pid) and procs.pid_comm(pid) == name:
        return pid
    return None


def _start_daemon(name: str, binary: str) -> int | None:
    """Run ``binary -d`` (it daemonizes) and return its PID.

    Returns None if the start failed because another ``name`` won the race.
    """
    LOG.info("starting %s", binary)
    result = subprocess.run(
        [binary, "-d"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        if procs.pids_named(name):
            LOG.info("another %s started meanwhile; using it", name)
            return None
        raise RuntimeError(f"{binary} -d exited {result.returncode}: {result.stderr.strip()}")
    return procs.wait_until(
        lambda: _daemon_pid(name), 10, what=f"{name} to write {PID_FILES[name]}"
    )


def _ensure_daemons(started: list[tuple[str, int]]) -> None:
    """Start virtlogd and libvirtd unless a libvirtd runs; record what we start."""
    if socket_answers() or procs.pids_named("libvirtd"):
        return
    for directory in RUNTIME_DIRS:
        Path(directory).mkdir(parents=True, exist_ok=True)
    for name, binary in (("virtlogd", VIRTLOGD), ("libvirtd", LIBVIRTD)):
        if not procs.pids_named(name):
            pid = _start_daemon(name, binary)
            if pid is not None:
                started.append((name, pid))


def stop_started(started: list[tuple[str, int]]) -> None:
    """Terminate, newest first, the daemons the harness started (by PID)."""
    for name, pid in reversed(started):
        if procs.pid_comm(pid) != name:
            LOG.warning("pid %s is no longer %s; not signalling it", pid, name)
            continue
        LOG.info("stopping %s (pid %s)", name, pid)
        procs.terminate_pid(pid)


def _foreign_active_domains(uri: str) -> list[str]:
    """Names of domains still running on ``uri`` (ours are gone by teardown)."""
    try:
        conn = open_connection(uri, 10)
    except libvirt.libvirtError as exc:
        LOG.info("libvirtd no longer answers (%s)", exc)
        return []
    try:
        return [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    finally:
        conn.close()


def stop_libvirt(host: LibvirtHost) -> None:
    """Stop the daemons we started, unless someone else's guests now run on them."""
    if not host.started:
        return
    others = _foreign_active_domains(host.uri)
    if others:
        LOG.warning("leaving the libvirtd we started running: other guests use it: %s", others)
        return
    stop_started(host.started)


def start_libvirt(uri: str = URI, timeout: float = 60.0) -> LibvirtHost:
    """Reuse a libvirtd serving ``uri`` or start virtlogd and libvirtd.

    A reused libvirtd that goes away while we wait (another test run stopping
    the one it started) is replaced by one of our own.
    """
    silence_error_handler()
    started: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    last = ["no attempt"]

    def _probe() -> libvirt.virConnect | None:
        if not any(name == "libvirtd" for name, _ in started):
            _ensure_daemons(started)
        try:
            return open_connection(uri, max(1.0, deadline - time.monotonic()))
        except libvirt.libvirtError as exc:
            last[0] = str(exc)
            return None

    try:
        conn = procs.wait_until(
            _probe, timeout, what=f"{uri} to answer", interval=0.3, details=lambda: last[0]
        )
        try:
            domain_type = detect_domain_type(conn)
        finally:
            conn.close()
    except BaseException:
        stop_started(started)
        raise
    reused = "reused" if not started else "started " + ", ".join(n for n, _ in started)
    LOG.info("libvirt ready at %s (%s), domain type %s", uri, reused, domain_type)
    return LibvirtHost(uri=uri, domain_type=domain_type, started=started)
