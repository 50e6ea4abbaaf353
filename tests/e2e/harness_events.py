"""E2E helpers for the event tests: boot sectors, guests, a full tmpfs, a private libvirtd.

Guests are named ``enr-evt-<run>-<x>`` so that the shared harness (which
cleans up ``enr-e2e-*``) and ours never touch each other's domains. The boot
sectors are written as bytes here, so no assembler is needed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import domains, libvirtd, procs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import MODULE, REPO_ROOT, EnricherProcess

NAME_PREFIX = "enr-evt-"
SECTOR = 512


# --- boot sectors -----------------------------------------------------------------

def boot_sector(code: bytes) -> bytes:
    """A 512-byte MBR: ``code`` at 0x7c00, zero padding, the 0x55AA signature."""
    if len(code) > SECTOR - 2:
        raise ValueError("boot code of %d bytes does not fit" % len(code))
    return code + bytes(SECTOR - 2 - len(code)) + b"\x55\xaa"


HALT = bytes([
    0xFA,        # cli
    0xF4,        # hlt
    0xEB, 0xFD,  # jmp back to hlt
])

# Idle: interrupts on, halt until the next one, forever.
IDLE_SECTOR = boot_sector(bytes([
    0xFB,        # sti
    0xF4,        # hlt
    0xEB, 0xFD,  # jmp back to hlt
]))

# Arm the ib700 watchdog, then halt with interrupts off: nobody pets it.
# Writing n to port 0x443 starts it with a timeout of 30 - 2*n seconds.
WATCHDOG_TIMEOUT_CODE = 0x0E  # 2 seconds
WATCHDOG_SECTOR = boot_sector(bytes([
    0xB0, WATCHDOG_TIMEOUT_CODE,  # mov al, 0x0e
    0xBA, 0x43, 0x04,             # mov dx, 0x443
    0xEE,                         # out dx, al
]) + HALT)

# Write one sector (the boot sector itself) to LBA 200 of the boot disk with
# int 13h AH=43h (EDD write), then halt. DL still holds the BIOS boot drive.
WRITE_LBA = 200
_DAP_AT = 0x7C00 + 32
_WRITE_CODE = bytes([
    0x31, 0xC0,                            # xor ax, ax
    0x8E, 0xD8,                            # mov ds, ax
    0xBE, *struct.pack("<H", _DAP_AT),     # mov si, dap
    0xB4, 0x43,                            # mov ah, 0x43
    0xB0, 0x00,                            # mov al, 0 (no verify)
    0xCD, 0x13,                            # int 0x13
]) + HALT
# Disk address packet: size 16, one sector from 0000:7c00 to LBA 200.
_DAP = struct.pack("<BBHHHQ", 0x10, 0, 1, 0x7C00, 0, WRITE_LBA)
DISK_WRITE_SECTOR = boot_sector(_WRITE_CODE + bytes(32 - len(_WRITE_CODE)) + _DAP)


def write_image(path: Path, sector: bytes, size: int = 1024 * 1024) -> None:
    """A sparse raw disk image of ``size`` bytes starting with ``sector``."""
    with path.open("wb") as image:
        image.write(sector)
        image.truncate(size)


# --- guests -----------------------------------------------------------------------

def make_spec(run_id: str, suffix: str, workdir: Path) -> E2EDomain:
    """A guest spec with Nova 1.1 tenancy, named outside the shared harness's prefix."""
    spec = domains.make_spec(run_id, suffix, "1.1", workdir)
    return dataclasses.replace(spec, name="%s%s-%s" % (NAME_PREFIX, run_id, suffix),
                               tap="")


def guest_xml(spec: E2EDomain, domain_type: str, devices: str = "",
              error_policy: str = "") -> str:
    """A 32 MiB guest booting ``spec.disk_path``, without a NIC or balloon."""
    return domains.guest_xml(spec, domain_type, memory_mib=32, nic=False, balloon=False,
                             error_policy=error_policy, devices=devices)


def remove_guest(conn: libvirt.virConnect, name: str) -> None:
    """Destroy and undefine a guest of ours if it exists."""
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
        return
    with contextlib.suppress(libvirt.libvirtError):
        if dom.isActive():
            dom.destroy()
    with contextlib.suppress(libvirt.libvirtError):
        if dom.isPersistent():
            dom.undefine()
    (domains.QEMU_LOG_DIR / f"{name}.log").unlink(missing_ok=True)


def cleanup_leftovers(conn: libvirt.virConnect) -> None:
    """Remove ``enr-evt-*`` guests whose test run is dead."""
    for dom in conn.listAllDomains(0):
        name = dom.name()
        if not name.startswith(NAME_PREFIX):
            continue
        owner = Path(tempfile.gettempdir(), name.rsplit("-", 1)[0], domains.OWNER_FILE)
        pid = procs.read_pid_file(owner)
        if pid and pid != os.getpid() and procs.pid_alive(pid):
            continue
        remove_guest(conn, name)


def make_workdir(run_id: str) -> Path:
    """``/tmp/enr-evt-<run>``, owned by this process (see cleanup_leftovers)."""
    workdir = Path(tempfile.gettempdir(), NAME_PREFIX + run_id)
    workdir.mkdir()
    (workdir / domains.OWNER_FILE).write_text(str(os.getpid()))
    return workdir


@contextlib.contextmanager
def full_tmpfs(directory: Path, image: str, sector: bytes) -> Iterator[Path]:
    """A 64 KiB tmpfs holding a sparse disk image, filled up so writes get ENOSPC."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs",
                    str(directory)], check=True, capture_output=True)
    try:
        path = directory / image
        write_image(path, sector)
        with contextlib.suppress(OSError), (directory / "filler").open("wb") as filler:
            for _ in range(64 * 1024 // 4096 + 1):  # the last write fails: full
                filler.write(bytes(4096))
                filler.flush()
        if os.statvfs(directory).f_bavail:
            raise RuntimeError("could not fill the tmpfs at %s" % directory)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False, capture_output=True)


# --- the enricher -----------------------------------------------------------------

CONFIG = """\
[libvirt]
connection_uri = {uri}
reconnect_max_interval = 2
[prometheus]
host = 127.0.0.1
port = {port}
[events]
stop_delay = {stop_delay}
log_file = {log_file}
{extra}"""


@dataclasses.dataclass
class EventEnricher:
    """An enricher subprocess with its JSON event log."""

    process: EnricherProcess
    event_log: Path

    def scrape(self, timeout: float = 10.0) -> dict[str, list[Any]]:
        """Sample name -> samples of one GET /metrics."""
        status, body = procs.http_get(self.process.metrics_url, timeout=timeout)
        if status != 200:
            raise AssertionError("GET %s -> %s: %s\n%s" % (
                self.process.metrics_url, status, body[:300], self.process.log_tail()))
        samples: dict[str, list[Any]] = {}
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append(sample)
        return samples

    def events(self) -> list[dict[str, Any]]:
        """Every JSON object of the event log so far."""
        if not self.event_log.exists():
            return []
        return [json.loads(line) for line in self.event_log.read_text().splitlines()
                if line.strip()]

    def log_text(self) -> str:
        return self.process.log_path.read_text(errors="replace")


@contextlib.contextmanager
def launch(workdir: Path, uri: str, stop_delay: float = 0.0, extra: str = "",
           timeout: float = 60.0) -> Iterator[EventEnricher]:
    """Run ``python -m enricher.cmd.enricher`` with events logged to a file.

    ``extra`` is appended to the [events] section.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    config = workdir / "enricher.conf"
    event_log = workdir / "events.jsonl"
    config.write_text(CONFIG.format(uri=uri, port=port, stop_delay=stop_delay,
                                    log_file=event_log, extra=extra))
    log_path = workdir / "enricher.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p))
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", MODULE, "--config-file", str(config)],
                                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    enricher = EventEnricher(EnricherProcess(proc, port, config, log_path), event_log)
    try:
        procs.wait_until(lambda: _serving(enricher.process), timeout,
                         what=enricher.process.metrics_url,
                         details=enricher.process.log_tail)
        yield enricher
    finally:
        procs.stop_process(proc)


def _serving(process: EnricherProcess) -> bool:
    if process.proc.poll() is not None:
        raise RuntimeError("enricher exited %s\n%s" % (process.proc.returncode,
                                                        process.log_tail()))
    return procs.http_get(process.metrics_url, timeout=2.0)[0] == 200


def event_count(samples: dict[str, list[Any]], uuid: str, event: str,
                detail: str | None = None) -> float:
    """Sum of libvirt_domain_events_total for one domain's event (and detail)."""
    return sum(s.value for s in samples.get("libvirt_domain_events_total", [])
               if s.labels["uuid"] == uuid and s.labels["event"] == event
               and detail in (None, s.labels["detail"]))


# --- a private libvirtd -------------------------------------------------------------

# Directories a system libvirtd writes to, bind-mounted from our own in its
# mount namespace so that it shares no state with the host's libvirtd.
_PRIVATE_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
    "log": "/var/log/libvirt",
}
_CAPS_CACHE = Path("/var/cache/libvirt/qemu/capabilities")


def private_libvirtd_unsupported() -> str | None:
    """Why a private libvirtd cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    if not shutil.which("unshare"):
        return "unshare (util-linux) is not installed"
    result = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        return "cannot create a mount namespace: %s" % result.stderr.strip()
    return None


class PrivateLibvirtd:
    """A system-mode libvirtd in its own mount namespace, killable at will.

    Its state directories are ours (bind mounts), its socket is in
    ``root/sock``, QEMU logs go to files (no virtlogd). Killing and starting
    it again works like a libvirtd restart: guests keep running and the new
    daemon reattaches to them.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "sock" / "libvirt-sock"
        self.proc: subprocess.Popen[bytes] | None = None
        for name in (*_PRIVATE_DIRS, "sock"):
            (root / name).mkdir(parents=True, exist_ok=True)
        (root / "etc" / "libvirtd.conf").write_text(
            'unix_sock_dir = "%s"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n'
            % self.socket.parent)
        (root / "etc" / "qemu.conf").write_text(
            'user = "root"\ngroup = "root"\nstdio_handler = "file"\n')
        caps = root / "cache" / "qemu" / "capabilities"
        caps.mkdir(parents=True, exist_ok=True)
        if _CAPS_CACHE.is_dir():  # skip the ~8 s QEMU probe when the host has one
            for cached in _CAPS_CACHE.glob("*.xml"):
                shutil.copy(cached, caps)

    @property
    def uri(self) -> str:
        return "qemu+unix:///system?socket=%s" % self.socket

    def start(self, timeout: float = 60.0) -> None:
        mounts = " && ".join("mkdir -p %s && mount --bind %s %s" % (target, self.root / name,
                                                                    target)
                             for name, target in _PRIVATE_DIRS.items())
        script = "%s && exec %s -f %s -p %s" % (
            mounts, libvirtd.LIBVIRTD, self.root / "etc" / "libvirtd.conf",
            self.root / "libvirtd.pid")
        with (self.root / "libvirtd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                stdout=log, stderr=subprocess.STDOUT)
        procs.wait_until(self._answers, timeout, what="the private libvirtd at %s" % self.uri,
                         details=lambda: procs.tail(self.root / "libvirtd.log"))

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError("private libvirtd exited %s\n%s" % (
                self.proc.returncode, procs.tail(self.root / "libvirtd.log")))
        return libvirtd.socket_answers(str(self.socket))

    def signal(self, signum: int) -> None:
        """Send ``signum`` (e.g. SIGSTOP, SIGCONT) to the running daemon."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL the daemon, as a crash would; its guests keep running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
            procs.stop_process(self.proc)

    def kill_guests(self) -> None:
        """Last resort: SIGKILL QEMU processes whose pid files this daemon wrote."""
        for pid_file in (self.root / "run" / "qemu").glob("*.pid"):
            pid = procs.read_pid_file(pid_file)
            if pid and procs.pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def open_when_ready(uri: str, timeout: float = 30.0) -> libvirt.virConnect:
    """A read-write connection, retried while the daemon starts."""
    return libvirtd.wait_for_connection(uri, timeout)


def poll(probe: Any, timeout: float, what: str, details: Any = None) -> Any:
    """procs.wait_until with a shorter interval, for latency measurements."""
    return procs.wait_until(probe, timeout, what=what, interval=0.05, details=details)


def now() -> float:
    return time.monotonic()
